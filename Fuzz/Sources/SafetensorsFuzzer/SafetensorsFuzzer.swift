import CalibFormats
import Foundation
import FuzzDriver

@main enum SafetensorsFuzzer {
  static func main() { runLibFuzzer(fuzzSafetensors) }
}

/// The scratch file each input is written to, one per fuzzing process.
private let scratchPath = FileManager.default.temporaryDirectory
  .appendingPathComponent("calib-fuzz-safetensors-\(getpid()).safetensors").path

/// Feeds one input to the safetensors reader twice: as header JSON alone, and as a whole
/// file (8-byte length, header, data). Every failure must be a thrown ``FormatError``; a
/// trap, a sanitizer report or a hang is a finding.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzSafetensors(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
  let bytes = data.map { Array(UnsafeBufferPointer(start: $0, count: size)) } ?? []
  parseHeader(bytes)
  openFile(bytes)
  return 0
}

/// Parses `bytes` as header JSON against a data section large enough for any real header.
private func parseHeader(_ bytes: [UInt8]) {
  _ = try? SafetensorsHeader(parsing: bytes, dataSectionSize: 1 << 40, path: "fuzz.json")
}

/// Opens `bytes` as a file and reads every tensor it declares, raw and converted to Float.
private func openFile(_ bytes: [UInt8]) {
  guard FileManager.default.createFile(atPath: scratchPath, contents: Data(bytes)) else {
    fatalError("cannot write the scratch file \(scratchPath)")
  }
  defer { unlink(scratchPath) }
  guard let file = try? SafetensorsFile(path: scratchPath) else { return }
  for entry in file.entries {
    _ = try? file.rawBytes(of: entry.name)
    _ = try? file.tensor(entry.name)
  }
  try? file.forEachRawBytes(of: file.entries) { _, _ in }
}
