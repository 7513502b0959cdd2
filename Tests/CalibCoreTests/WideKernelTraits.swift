import Testing

@testable import CalibCore

extension Trait where Self == ConditionTrait {
  /// Runs a test of the AVX-512 kernels only on a CPU that has them; elsewhere the test is
  /// skipped, not failed, as there is nothing to compare.
  static var needsAVX512: Self {
    .enabled(if: WideKernels.width == 16, "no AVX-512 on this CPU: its kernels do not run here")
  }

  /// Runs a test of the AVX2 kernels (which AVX-512 CPUs run too) only where they run.
  static var needsAVX2: Self {
    .enabled(if: WideKernels.width >= 8, "no AVX2 on this CPU: its kernels do not run here")
  }
}

extension WideKernels {
  /// Every kernel width this CPU runs, to compare each with the portable lanes: AVX2's 8
  /// and, with AVX-512, 16 as well (empty without AVX2).
  static let runnableWidths = [8, 16].filter { $0 <= width }
}
