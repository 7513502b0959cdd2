import CalibKernels

/// Keeps freed blocks of up to 64 MiB in the process's heap for reuse, instead of handing
/// them back to the kernel (glibc's defaults: blocks from 128 KiB up are mapped and
/// unmapped one by one, and a heap's free top is trimmed once it passes 128 KiB).
///
/// The observers allocate arrays of a few MiB per call (an NVFP4 weight's 1M group
/// ranges and scales, say). With glibc's defaults each such array arrives as fresh pages
/// whose every 4 KiB faults in and is zeroed by the kernel: `calib-bench observers` on
/// NVFP4 spent more time in the kernel than in its own code (177,000 faults, 0.51 s system
/// against 0.38 s user) and ran at half its speed in most rounds. Peak memory is unchanged
/// (what is kept was in use a moment before); larger blocks (a sample tensor) are still
/// mapped and returned.
///
/// Called once by the `calib` and `calib-bench` executables before they do any work; a
/// no-op where the C library is not glibc.
public enum HeapReuse {
  public static func configure() {
    calib_keep_freed_blocks(64 << 20, 256 << 20)
  }
}
