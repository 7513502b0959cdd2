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
    // The checks run in the reference's order, so the first problem reported is its own.
    try Self.checkBounds(groupSize: groupSize, blockStructure: blockStructure)
    let resolved = try Self.resolvedStrategy(strategy, groupSize: groupSize)
    try Self.checkStrategyFields(
      resolved, groupSize: groupSize, blockStructure: blockStructure, dynamic: dynamic,
      actorder: actorder)
    let resolvedObserver = try Self.resolvedObserver(observer, strategy: resolved, dynamic: dynamic)
    try Self.checkBits(numBits, type: type)
    self.numBits = numBits
    self.type = type
    self.symmetric = symmetric
    self.groupSize = groupSize
    self.strategy = resolved
    self.blockStructure = blockStructure
    self.dynamic = dynamic
    self.actorder = actorder
    self.scaleDType = scaleDType
    self.zpDType = zpDType ?? Self.inferredZeroPointDType(type: type, numBits: numBits)
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

// MARK: - Validation steps of init

extension QuantizationArgs {
  /// Rejects a `group_size` below -1 or a `block_structure` that is not two positive
  /// sizes, and either beyond ``dimensionLimit``.
  private static func checkBounds(groupSize: Int?, blockStructure: [Int]?) throws {
    if let g = groupSize, g < -1 || g > dimensionLimit {
      throw QuantizationArgsError.invalidGroupSize(g)
    }
    if let b = blockStructure, b.count != 2 || b.contains(where: { $0 <= 0 || $0 > dimensionLimit }) {
      throw QuantizationArgsError.invalidBlockStructure("\(b)")
    }
  }

  /// The strategy given, or the one `group_size` implies: none → tensor, > 0 → group,
  /// -1 → channel (0 is rejected).
  private static func resolvedStrategy(_ strategy: QuantizationStrategy?, groupSize: Int?) throws
    -> QuantizationStrategy
  {
    if let strategy { return strategy }
    guard let g = groupSize else { return .tensor }
    if g > 0 { return .group }
    if g == -1 { return .channel }
    throw QuantizationArgsError.invalidGroupSize(g)
  }

  /// Checks that the fields a strategy needs are present and the ones it forbids absent:
  /// static token, group size, block structure and actorder.
  private static func checkStrategyFields(
    _ strategy: QuantizationStrategy, groupSize: Int?, blockStructure: [Int]?,
    dynamic: DynamicMode, actorder: ActivationOrdering?
  ) throws {
    if strategy == .token && !dynamic.isDynamic {
      throw QuantizationArgsError.staticTokenStrategy
    }
    if strategy.isGrouped && (groupSize ?? 0) <= 0 {
      throw QuantizationArgsError.groupSizeRequired(strategy)
    }
    if let g = groupSize, g > 0, !strategy.isGrouped {
      throw QuantizationArgsError.groupSizeRequiresGroupStrategy(strategy: strategy, groupSize: g)
    }
    if strategy == .block && blockStructure == nil {
      throw QuantizationArgsError.blockStructureRequired
    }
    if strategy != .block && blockStructure != nil {
      throw QuantizationArgsError.blockStructureRequiresBlockStrategy
    }
    if actorder != nil && !strategy.isGrouped {
      throw QuantizationArgsError.actorderRequiresGroupStrategy(strategy)
    }
  }

  /// The observer after the reference's defaults (`memoryless_minmax` when static,
  /// `minmax` for `"local"`, none when dynamic is true), once the dynamic mode is checked
  /// against the strategy.
  private static func resolvedObserver(
    _ observer: String?, strategy: QuantizationStrategy, dynamic: DynamicMode
  ) throws -> String? {
    guard dynamic.isDynamic else { return observer ?? "memoryless_minmax" }
    guard [.token, .tensor, .tensorGroup, .group].contains(strategy) else {
      throw QuantizationArgsError.dynamicStrategyUnsupported(strategy)
    }
    if dynamic == .local && strategy != .tensorGroup {
      throw QuantizationArgsError.localRequiresTensorGroup(strategy)
    }
    return dynamic == .on ? nil : observer ?? "minmax"
  }

  /// Rejects float widths other than 4 and 8, and int widths outside ``intBits``.
  private static func checkBits(_ numBits: Int, type: QuantizationType) throws {
    if type == .float && numBits != 4 && numBits != 8 {
      throw QuantizationArgsError.unsupportedFloatBits(numBits)
    }
    if type == .int && !intBits.contains(numBits) {
      throw QuantizationArgsError.unsupportedIntBits(numBits)
    }
  }

  /// The zero-point dtype when none is given: FP8 E4M3 for floats, and the narrowest of
  /// int8, int16 and int32 that holds an int width.
  private static func inferredZeroPointDType(type: QuantizationType, numBits: Int) -> TorchDType {
    switch (type, numBits) {
    case (.float, _): .float8E4M3FN
    case (.int, ...8): .int8
    case (.int, ...16): .int16
    default: .int32
    }
  }
}
