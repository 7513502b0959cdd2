import Foundation

/// Median wall time of `repeat` runs of `body`.
func medianSeconds(_ repeats: Int, _ body: () throws -> Void) rethrows -> Double {
  var times: [Double] = []
  for _ in 0..<repeats {
    let start = DispatchTime.now().uptimeNanoseconds
    try body()
    times.append(Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9)
  }
  return times.sorted()[times.count / 2]
}

/// Deletes the store at `path` with its WAL, shared-memory and samples files, so that a
/// new store there starts clean (a samples file left behind names the old store, and
/// opening refuses it).
func removeStore(at path: String) {
  for suffix in ["", "-wal", "-shm", "-samples"] { try? FileManager.default.removeItem(atPath: path + suffix) }
}

/// One JSON line with fields in the given order; numbers rounded like refbench.py.
func emit(_ fields: [(String, Any)]) {
  let body = fields.map { key, value -> String in
    let v: String
    switch value {
    case let d as Double: v = String(format: "%.5g", d)
    case let s as String: v = "\"\(s)\""
    default: v = "\(value)"
    }
    return "\"\(key)\": \(v)"
  }.joined(separator: ", ")
  print("{" + body + "}")

}

/// Peak resident set size since the last ``resetPeakRSS()``, in MB (Linux `VmHWM`).
func peakRSSMegabytes() -> Double {
  guard let status = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8),
    let line = status.split(separator: "\n").first(where: { $0.hasPrefix("VmHWM:") })
  else { return -1 }
  let kb = Double(line.split(separator: " ").dropFirst().first ?? "") ?? -1
  return kb / 1024
}

/// Resets the kernel's peak-RSS counter (`/proc/self/clear_refs`, value 5).
func resetPeakRSS() {
  try? "5".write(toFile: "/proc/self/clear_refs", atomically: false, encoding: .utf8)
}
