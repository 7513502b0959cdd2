/// How one tensor (weights, input or output activations) is quantized: compressed-tensors'
/// `QuantizationArgs` (0.14), with the same defaults, inference and validation.
///
/// Validation runs in ``init(numBits:type:symmetric:groupSize:strategy:blockStructure:dynamic:actorder:scaleDType:zpDType:observer:observerKwargs:)``,
/// in the reference's order:
/// - strategy inferred from `group_size` when absent (none → tensor, > 0 → group,
///   -1 → channel, anything else rejected);
/// - static `token` rejected; `group`/`tensor_group` need a positive group size; a
///   positive group size needs a grouped strategy; `block` and `block_structure` need
///   each other; actorder needs a grouped strategy;
/// - dynamic only with token, tensor, group or tensor_group; `"local"` only with
///   tensor_group;
/// - observer default: `memoryless_minmax` when static, `minmax` for `"local"`, none when
///   dynamic is true;
/// - `zp_dtype` inferred: FP8 E4M3 for 4-bit float, int8/int16/int32 for int by width,
///   FP8 for 8-bit float; other float widths are rejected.
/// - stricter than the reference: int widths must be 1…32, and `group_size` and
///   `block_structure` entries at most 2³¹ − 1.
///
/// For example:
/// ```swift
/// let w4 = try QuantizationArgs(numBits: 4, groupSize: 128)
/// w4.strategy  // .group
/// w4.observer  // "memoryless_minmax"
/// ```
public struct QuantizationArgs: Sendable, Hashable {
  public var numBits: Int
  public var type: QuantizationType
  public var symmetric: Bool
  public var groupSize: Int?
  public var strategy: QuantizationStrategy
  public var blockStructure: [Int]?
  public var dynamic: DynamicMode
  public var actorder: ActivationOrdering?
  public var scaleDType: TorchDType?
  public var zpDType: TorchDType
  public var observer: String?
  public var observerKwargs: [String: ObserverKwarg]

  /// Validates and completes the arguments as compressed-tensors does.
  ///
  /// - Throws: ``QuantizationArgsError`` naming the offending field.
  public init(
    numBits: Int = 8,
    type: QuantizationType = .int,
    symmetric: Bool = true,
    groupSize: Int? = nil,
    strategy: QuantizationStrategy? = nil,
    blockStructure: [Int]? = nil,
    dynamic: DynamicMode = .off,
    actorder: ActivationOrdering? = nil,
    scaleDType: TorchDType? = nil,
    zpDType: TorchDType? = nil,
    observer: String? = nil,
    observerKwargs: [String: ObserverKwarg] = [:]
  ) throws {
    if let g = groupSize, g < -1 || g > Self.dimensionLimit {
      throw QuantizationArgsError.invalidGroupSize(g)
    }
    if let b = blockStructure, b.count != 2 || b.contains(where: { $0 <= 0 || $0 > Self.dimensionLimit }) {
      throw QuantizationArgsError.invalidBlockStructure("\(b)")
    }
    let resolved: QuantizationStrategy
    if let strategy {
      resolved = strategy
    } else if let g = groupSize {
      if g > 0 {
        resolved = .group
      } else if g == -1 {
        resolved = .channel
      } else {
        throw QuantizationArgsError.invalidGroupSize(g)
      }
    } else {
      resolved = .tensor
    }
    if resolved == .token && !dynamic.isDynamic {
      throw QuantizationArgsError.staticTokenStrategy
    }
    if resolved.isGrouped && (groupSize ?? 0) <= 0 {
      throw QuantizationArgsError.groupSizeRequired(resolved)
    }
    if let g = groupSize, g > 0, !resolved.isGrouped {
      throw QuantizationArgsError.groupSizeRequiresGroupStrategy(strategy: resolved, groupSize: g)
    }
    if resolved == .block && blockStructure == nil {
      throw QuantizationArgsError.blockStructureRequired
    }
    if resolved != .block && blockStructure != nil {
      throw QuantizationArgsError.blockStructureRequiresBlockStrategy
    }
    if actorder != nil && !resolved.isGrouped {
      throw QuantizationArgsError.actorderRequiresGroupStrategy(resolved)
    }
    var resolvedObserver = observer
    if dynamic.isDynamic {
      guard [.token, .tensor, .tensorGroup, .group].contains(resolved) else {
        throw QuantizationArgsError.dynamicStrategyUnsupported(resolved)
      }
      if dynamic == .local && resolved != .tensorGroup {
        throw QuantizationArgsError.localRequiresTensorGroup(resolved)
      }
      if dynamic == .on {
        resolvedObserver = nil
      } else if observer == nil {
        resolvedObserver = "minmax"
      }
    } else if observer == nil {
      resolvedObserver = "memoryless_minmax"
    }
    if type == .float && numBits != 4 && numBits != 8 {
      throw QuantizationArgsError.unsupportedFloatBits(numBits)
    }
    if type == .int && !Self.intBits.contains(numBits) {
      throw QuantizationArgsError.unsupportedIntBits(numBits)
    }
    let inferredZP: TorchDType =
      switch (type, numBits) {
      case (.float, _): .float8E4M3FN
      case (.int, ...8): .int8
      case (.int, ...16): .int16
      default: .int32
      }
    self.numBits = numBits
    self.type = type
    self.symmetric = symmetric
    self.groupSize = groupSize
    self.strategy = resolved
    self.blockStructure = blockStructure
    self.dynamic = dynamic
    self.actorder = actorder
    self.scaleDType = scaleDType
    self.zpDType = zpDType ?? inferredZP
    self.observer = resolvedObserver
    self.observerKwargs = observerKwargs
  }

  /// Integer widths accepted. compressed-tensors 0.14 takes any integer, but its widest
  /// inferred zero-point dtype is int32, and 0 or a negative width has no range at all.
  public static let intBits = 1...32

  /// Largest `group_size` and `block_structure` entry accepted (int32's maximum): far
  /// beyond any tensor dimension, and small enough that block arithmetic cannot overflow.
  public static let dimensionLimit = Int(Int32.max)

  /// Whether this is FP4 E2M1 (`type: float, num_bits: 4`).
  public var isFP4: Bool { type == .float && numBits == 4 }

  /// Whether scales are MX power-of-two exponents: compressed-tensors 0.14 decides this
  /// from `num_bits == 4`, `type == float` and `group_size == 32` alone.
  public var usesMXScales: Bool { isFP4 && groupSize == 32 }
}
