#if canImport(Glibc)
  import Glibc
#elseif canImport(Darwin)
  import Darwin
#endif

/// How torch spreads a `sum` with a *single* output over its intra-op threads, which
/// decides that sum's bits (see ``TorchSum``).
///
/// torch (`TensorIteratorReduce.cpp`, `two_pass_reduction`) splits a single-output
/// reduction of `n ≥ 32,768` elements (its `GRAIN_SIZE`) when it has `T > 1` threads:
/// ```
/// T' = min(T, ⌈n / 32768⌉),  chunk = ⌈n / T'⌉
/// partial_t = r(sum of elements [t · chunk, min(n, (t + 1) · chunk)))   t < T', one TorchSum each
/// result    = r(sum of [partial_0, …, partial_{T'-1}, 0, …, 0])        T entries, one TorchSum
/// ```
/// where `r` rounds to the dtype (the partials live in a buffer of the output's dtype).
/// Below the grain size, or with one thread, the sum is one ``TorchSum``.
public struct TorchThreads: Sendable, Equatable {
  /// torch's intra-op thread count `T`.
  public var count: Int

  public init(_ count: Int) {
    self.count = Swift.max(1, count)
  }

  /// torch's `at::internal::GRAIN_SIZE`.
  static let grainSize = 32_768

  /// The ranges the threads sum, or `nil` when torch sums in one piece.
  func ranges(summing n: Int) -> [Range<Int>]? {
    guard count > 1 && n >= Self.grainSize else { return nil }
    let used = Swift.min(count, (n + Self.grainSize - 1) / Self.grainSize)
    let chunk = (n + used - 1) / used
    return stride(from: 0, to: n, by: chunk).map { $0..<Swift.min(n, $0 + chunk) }
  }

  /// The sum of the threads' partials (each already rounded to `dtype`), as torch's
  /// second pass adds them: `count` entries, idle threads' zeros included.
  func combining(_ partials: [Float], dtype: FloatDType) -> Float {
    var sum = TorchSum(count: count, dtype: dtype)
    for t in 0..<count { sum.add(scalar: t < partials.count ? partials[t] : 0) }
    return sum.total()
  }

  /// The thread count torch starts with in this environment: `OMP_NUM_THREADS` when set
  /// to a positive integer (torch honours it), otherwise the number of physical cores
  /// (distinct `physical id` / `core id` pairs of `/proc/cpuinfo`, as torch's cpuinfo
  /// counts them), otherwise the online processors.
  public static let environment: TorchThreads = {
    if let text = getenv("OMP_NUM_THREADS").map({ String(cString: $0) }),
      let n = Int(text.trimmingCharacters(in: " \t")), n > 0
    {
      return TorchThreads(n)
    }
    return TorchThreads(physicalCores() ?? Int(sysconf(Int32(_SC_NPROCESSORS_ONLN))))
  }()

  /// Distinct (physical id, core id) pairs in `/proc/cpuinfo`; `nil` where it is missing.
  static func physicalCores() -> Int? {
    guard let file = fopen("/proc/cpuinfo", "r") else { return nil }
    defer { fclose(file) }
    var cores = Set<String>()
    var package = ""
    var line: UnsafeMutablePointer<CChar>? = nil
    var capacity = 0
    defer { free(line) }
    while getline(&line, &capacity, file) > 0, let line {
      let text = String(cString: line)
      guard let colon = text.firstIndex(of: ":") else { continue }
      let key = text[..<colon].trimmingCharacters(in: " \t")
      let value = text[text.index(after: colon)...].trimmingCharacters(in: " \t\n")
      if key == "physical id" { package = value }
      if key == "core id" { cores.insert(package + "/" + value) }
    }
    return cores.isEmpty ? nil : cores.count
  }
}

extension StringProtocol {
  /// The text without leading and trailing characters from `set`.
  fileprivate func trimmingCharacters(in set: String) -> String {
    let chars = Set(set)
    var slice = self[...]
    while let c = slice.first, chars.contains(c) { slice = slice.dropFirst() }
    while let c = slice.last, chars.contains(c) { slice = slice.dropLast() }
    return String(slice)
  }
}

extension TorchSum {
  /// torch's `sum` of `count` terms to one output, `threads` as torch splits it: the
  /// terms come eight at a time from `vector(k)` (terms k…k+7, any k) and, past a piece's
  /// last full eight, one at a time from `scalar(k)`. Unrounded for float32; for a 16-bit
  /// `dtype`, threads' partials are rounded to it and so is the result.
  static func sum(
    count: Int, dtype: FloatDType = .float32, threads: TorchThreads = TorchThreads(1),
    vector: (Int) -> Lanes, scalar: (Int) -> Float
  ) -> Float {
    func piece(_ range: Range<Int>) -> Float {
      var sum = TorchSum(count: range.count, dtype: dtype)
      var k = range.lowerBound
      while k + 8 <= range.upperBound {
        sum.add(vector(k))
        k += 8
      }
      while k < range.upperBound {
        sum.add(scalar: scalar(k))
        k += 1
      }
      return sum.total()
    }
    guard let pieces = threads.ranges(summing: count) else { return piece(0..<count) }
    return threads.combining(pieces.map { dtype.rounded(piece($0)) }, dtype: dtype)
  }
}
