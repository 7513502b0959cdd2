import Foundation
internal import GRDB

/// What a run is: recorded from step files, replayed from a recording, or imported from a
/// checkpoint.
public enum RunKind: String, Sendable, Codable, CaseIterable {
  case recorded, replayed, imported
}

/// Whether a run finished.
public enum RunStatus: String, Sendable, Codable, CaseIterable {
  case inProgress = "in_progress"
  case complete
  case failed
}

/// A row of table `run`.
struct RunRecord: Sendable, Codable, Equatable {
  var id: Int64?
  var name: String
  var kind: RunKind
  var parentID: Int64?
  var recordingID: Int64?
  var settingsDiff: String?
  var recipe: String?
  var toolVersion: String
  var createdAt: String
  var status: RunStatus
  var note: String?
  var completedSteps: Int
  var weightsDone: Bool

  init(
    name: String, kind: RunKind, parentID: Int64? = nil, recordingID: Int64? = nil,
    settingsDiff: String? = nil, recipe: String? = nil, note: String? = nil
  ) {
    self.name = name
    self.kind = kind
    self.parentID = parentID
    self.recordingID = recordingID
    self.settingsDiff = settingsDiff
    self.recipe = recipe
    self.toolVersion = CalibVersion.current
    self.createdAt = ISO8601DateFormatter().string(from: Date())
    self.status = .inProgress
    self.note = note
    self.completedSteps = 0
    self.weightsDone = false
  }
}

extension RunRecord: FetchableRecord, MutablePersistableRecord {
  static let databaseTableName = "run"

  /// Every path that creates a run (record, replay and its sweeps, import) ends here.
  func willInsert(_ db: Database) throws { try RunName.validate(name, option: "the run") }

  mutating func didInsert(_ inserted: InsertionSuccess) { id = inserted.rowID }
}

/// The version of calib that writes runs.
public enum CalibVersion {
  public static let current = "0.1.0"
}
