internal import GRDB

/// A row of table `module`: a module of the calibrated model and its class, when known.
struct ModuleRecord: Sendable, Codable, Equatable {
  var id: Int64?
  var name: String
  var type: String?
}

extension ModuleRecord: FetchableRecord, MutablePersistableRecord {
  static let databaseTableName = "module"

  mutating func didInsert(_ inserted: InsertionSuccess) { id = inserted.rowID }
}
