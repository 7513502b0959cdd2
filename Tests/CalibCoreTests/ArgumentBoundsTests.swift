import CalibCore
import Foundation
import Testing

// Bounds CalibCore puts on numbers the reference reads unchecked or accepts too widely: each
// out-of-range value is a typed error, never a trap or an unbounded allocation.

/// One observer kwarg and whether it is accepted.
struct KwargBound: Sendable, CustomTestStringConvertible {
  let key: String
  let value: Double
  let accepted: Bool
  var testDescription: String { "\(key)=\(value)" }
}

@Suite struct ArgumentBoundsTests {
  static let kwargCases: [KwargBound] =
    ["grid", "maxshrink", "patience", "norm", "averaging_constant"].flatMap { key in
      [Double.nan, .infinity, -.infinity, -1, 1e300, -1e300, .greatestFiniteMagnitude].map {
        KwargBound(key: key, value: $0, accepted: false)
      }
    } + [
      KwargBound(key: "grid", value: 1000, accepted: true),
      KwargBound(key: "grid", value: 1000.5, accepted: false),
      KwargBound(key: "grid", value: 1e9, accepted: false),
      KwargBound(key: "grid", value: 0.5, accepted: true),
      KwargBound(key: "grid", value: 0, accepted: false),
      KwargBound(key: "maxshrink", value: 0, accepted: true),
      KwargBound(key: "maxshrink", value: 1.01, accepted: false),
      KwargBound(key: "patience", value: 0, accepted: true),
      KwargBound(key: "patience", value: 1e7, accepted: false),
      KwargBound(key: "norm", value: 100, accepted: true),
      KwargBound(key: "norm", value: 101, accepted: false),
      KwargBound(key: "norm", value: 0, accepted: false),
      KwargBound(key: "averaging_constant", value: 1, accepted: true),
      KwargBound(key: "averaging_constant", value: 0, accepted: false),
    ]

  @Test(arguments: kwargCases)
  func observerKwargsAreBounded(_ c: KwargBound) throws {
    let kwargs = [c.key: ObserverKwarg.number(c.value)]
    if c.accepted {
      let settings = try ObserverSettings(kind: .mse, kwargs: kwargs)
      #expect(settings.searchSteps <= 1000)
    } else {
      #expect(throws: ObserverError.self) { try ObserverSettings(kind: .mse, kwargs: kwargs) }
      do {
        _ = try ObserverSettings(kind: .mse, kwargs: kwargs)
      } catch {
        let text = String(describing: error)
        #expect(text.contains("'\(c.key)'") && !text.contains("\n"), "\(text)")
      }
    }
  }

  @Test func theLargestSearchIsFinite() throws {
    let s = try ObserverSettings(kind: .mse, kwargs: ["grid": .number(1000), "maxshrink": .number(1)])
    #expect(s.searchSteps == 1000)
  }
}

// MARK: - num_bits, group_size, block_structure

extension ArgumentBoundsTests {
  static let intWidths: [(bits: Int, accepted: Bool)] = [
    (-3, false), (0, false), (1, true), (2, true), (4, true), (8, true), (16, true), (32, true),
    (33, false), (64, false), (Int.max, false), (Int.min, false),
  ]

  @Test(arguments: intWidths)
  func intWidthsAreOneToThirtyTwo(_ c: (bits: Int, accepted: Bool)) throws {
    if c.accepted {
      #expect(try QuantizationArgs(numBits: c.bits).numBits == c.bits)
    } else {
      #expect(throws: QuantizationArgsError.unsupportedIntBits(c.bits)) {
        try QuantizationArgs(numBits: c.bits)
      }
    }
  }

  @Test(arguments: [0, 1, 2, 7, 16, 32, 64, -8])
  func floatWidthsAreFourOrEight(_ bits: Int) throws {
    if bits == 4 || bits == 8 {
      _ = try QuantizationArgs(numBits: bits, type: .float)
    } else {
      #expect(throws: QuantizationArgsError.unsupportedFloatBits(bits)) {
        try QuantizationArgs(numBits: bits, type: .float)
      }
    }
  }

  @Test func numBitsFromJSONIsCheckedPerType() throws {
    for json in [#"{"num_bits":0}"#, #"{"num_bits":64}"#, #"{"num_bits":-1}"#] {
      #expect(throws: QuantizationArgsError.self) {
        try JSONDecoder().decode(QuantizationArgs.self, from: Data(json.utf8))
      }
    }
  }

  @Test func hugeBlocksAndGroupsAreRejected() throws {
    let huge = Int(Int32.max) + 1
    #expect(throws: QuantizationArgsError.invalidBlockStructure("[\(huge), 4]")) {
      try QuantizationArgs(strategy: .block, blockStructure: [huge, 4])
    }
    #expect(throws: QuantizationArgsError.invalidBlockStructure("[4, \(Int.max)]")) {
      try QuantizationArgs(strategy: .block, blockStructure: [4, Int.max])
    }
    #expect(throws: QuantizationArgsError.invalidGroupSize(Int.max)) {
      try QuantizationArgs(groupSize: Int.max, strategy: .group)
    }
    _ = try QuantizationArgs(strategy: .block, blockStructure: [Int(Int32.max), 1])
  }
}
