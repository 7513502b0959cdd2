import CalibCore
import Foundation
internal import GRDB

/// A row of table `observerState`: the observer's running statistics and the module's
/// parameters for one (run, module, base name, step) after a lifecycle call.
struct ObserverStateRecord: Codable, FetchableRecord, PersistableRecord {
  static let databaseTableName = "observerState"

  var runID: Int64
  var moduleID: Int64
  var baseName: String
  var step: Int
  var observer: String?
  var kwargs: String
  var minShape: String?
  var minValues: Data?
  var maxValues: Data?
  var globalRange: Data?
  var scaleShape: String?
  var scale: Data?
  var zeroPointDType: String?
  var zeroPoint: Data?
  var globalScale: Data?
  /// The scale's torch dtype (`torch.bfloat16`, …); `nil` in rows before v003 (float32).
  var scaleDType: String?
  /// The dtype of the running ranges (min/max and the global range).
  var rangeDType: String?
  /// A histogram-based observer's running histogram (``CalibrationHistogram/encoded()``, v004).
  var histogram: Data?
  /// The MSE sweep's initial amax and summed losses (``MSESweepState/encoded()``, v005).
  var sweep: Data?
}

extension ObserverStateRecord {
  /// Inserts the row, replacing one with the same (run, module, base name, step), through
  /// a cached statement: the recorder and replays write one row per observed tensor, and
  /// `Codable` encoding of each row showed up in recording profiles.
  func insertOrReplace(_ db: Database) throws {
    let statement = try db.cachedStatement(
      sql: """
        INSERT OR REPLACE INTO observerState
          (runID, moduleID, baseName, step, observer, kwargs, minShape, minValues, maxValues, globalRange,
           scaleShape, scale, zeroPointDType, zeroPoint, globalScale, scaleDType, rangeDType, histogram, sweep)
        VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
        """)
    try statement.execute(
      arguments: [
        runID, moduleID, baseName, step, observer, kwargs, minShape, minValues, maxValues, globalRange,
        scaleShape, scale, zeroPointDType, zeroPoint, globalScale, scaleDType, rangeDType, histogram, sweep,
      ])
  }
}

/// A row of table `qparams`: the final parameters of a (run, module, base name).
struct QParamsRecord: Codable, FetchableRecord, PersistableRecord {
  static let databaseTableName = "qparams"

  var runID: Int64
  var moduleID: Int64
  var baseName: String
  var observer: String?
  var args: String
  var scaleShape: String?
  var scale: Data?
  var zeroPointDType: String?
  var zeroPoint: Data?
  var globalScale: Data?
  var scaleDType: String?
  /// `false` for an activation whose observer received no samples (v003).
  var calibrated: Bool
}
