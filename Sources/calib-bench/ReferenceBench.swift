import ArgumentParser
import Foundation

/// One run of the reference benchmarks, `refbench.py` and its companions, in the
/// reference environment's Python: their median seconds per case, read from the JSON
/// lines they print.
///
/// Running it from `calib-bench` puts both sides in the same session and lets their
/// rounds alternate, so that a burst of load on this shared machine does not fall on one
/// side only.
struct ReferenceBench {
  /// The Python interpreter of the reference environment (`setup.sh` builds it).
  let python: String
  /// Paths of `refbench.py` and of the scripts that take its command line and print its
  /// lines for more cases (`refbench_presets.py`).
  let scripts: [String]

  /// Runs each script with `--data data --dtype dtype --threads threads --repeat repeats`.
  func secondsByCase(data: String, dtype: String, threads: Int, repeats: Int) throws -> [String: Double] {
    var result: [String: Double] = [:]
    for script in scripts {
      let process = Process()
      process.executableURL = URL(fileURLWithPath: python)
      process.arguments = [script, "--data", data, "--dtype", dtype, "--threads", String(threads), "--repeat", String(repeats)]
      let output = Pipe()
      process.standardOutput = output
      try process.run()
      let bytes = output.fileHandleForReading.readDataToEndOfFile()
      process.waitUntilExit()
      guard process.terminationStatus == 0 else {
        throw CleanExit.message("\(script) exited with status \(process.terminationStatus); check --reference")
      }
      for line in String(decoding: bytes, as: UTF8.self).split(separator: "\n") {
        guard let object = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any],
          let name = object["case"] as? String, let seconds = object["seconds"] as? Double
        else { continue }
        result[name] = seconds
      }
    }
    return result
  }
}
