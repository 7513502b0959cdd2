import CalibKernels

/// Which of `CalibKernels`' wide versions this CPU runs: 16 lanes (AVX-512), 8 (AVX2), or
/// none (0), where every caller keeps its portable Swift lanes. Every wide kernel gives the
/// bits its Swift counterpart gives (see ``WideMSETerms``).
enum WideKernels {
  /// The kernels' vector width on this CPU, or 0 where there are none.
  static let width = Int(calib_kernels_width())
}
