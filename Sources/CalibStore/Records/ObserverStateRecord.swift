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
}
