#if canImport(Glibc)
  import Glibc
#elseif canImport(Darwin)
  import Darwin
#endif

/// The signature of `LLVMFuzzerTestOneInput`: one input, 0 to keep going.
public typealias FuzzTarget = @convention(c) (UnsafePointer<UInt8>?, Int) -> Int32

/// libFuzzer's entry for programs that have their own `main` (declared in its
/// `FuzzerInterface.h`).
@_silgen_name("LLVMFuzzerRunDriver")
private func llvmFuzzerRunDriver(
  _ argc: UnsafeMutablePointer<Int32>,
  _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>>,
  _ target: FuzzTarget
) -> Int32

/// Runs libFuzzer on `target` with the process arguments and exits with its status.
///
/// SwiftPM gives every executable target a `main` (on Linux it links `main` to a renamed
/// entry point), so libFuzzer's own `main` is never linked in: the `@main` type of each
/// fuzzer calls this instead.
public func runLibFuzzer(_ target: FuzzTarget) -> Never {
  var argc = CommandLine.argc
  var argv = CommandLine.unsafeArgv
  exit(llvmFuzzerRunDriver(&argc, &argv, target))
}
