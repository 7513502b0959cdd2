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
  var arithmetic: Arithmetic
  /// The writing process while in progress (``RunOwner``), `nil` once finished.
  var owner: String?

  init(
    name: String, kind: RunKind, parentID: Int64? = nil, recordingID: Int64? = nil,
    settingsDiff: String? = nil, recipe: String? = nil, note: String? = nil, arithmetic: Arithmetic = .model
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
    self.arithmetic = arithmetic
    self.owner = RunOwner.current
  }
}

extension RunRecord {
  private enum CodingKeys: String, CodingKey {
    case id, name, kind, parentID, recordingID, settingsDiff, recipe, toolVersion, createdAt, status, note
    case completedSteps, weightsDone, arithmetic, owner
  }

  /// Decodes a row; stores opened read-only before their v003 migration lack
  /// `arithmetic` (their runs used float32) and `owner`.
  init(from decoder: any Decoder) throws {
    let c = try decoder.container(keyedBy: CodingKeys.self)
    id = try c.decodeIfPresent(Int64.self, forKey: .id)
    name = try c.decode(String.self, forKey: .name)
    kind = try c.decode(RunKind.self, forKey: .kind)
    parentID = try c.decodeIfPresent(Int64.self, forKey: .parentID)
    recordingID = try c.decodeIfPresent(Int64.self, forKey: .recordingID)
    settingsDiff = try c.decodeIfPresent(String.self, forKey: .settingsDiff)
    recipe = try c.decodeIfPresent(String.self, forKey: .recipe)
    toolVersion = try c.decode(String.self, forKey: .toolVersion)
    createdAt = try c.decode(String.self, forKey: .createdAt)
    status = try c.decode(RunStatus.self, forKey: .status)
    note = try c.decodeIfPresent(String.self, forKey: .note)
    completedSteps = try c.decode(Int.self, forKey: .completedSteps)
    weightsDone = try c.decode(Bool.self, forKey: .weightsDone)
    arithmetic = try c.decodeIfPresent(Arithmetic.self, forKey: .arithmetic) ?? .float32
    owner = try c.decodeIfPresent(String.self, forKey: .owner)
  }
}

extension RunRecord: FetchableRecord, MutablePersistableRecord {
  static let databaseTableName = "run"

  /// Every path that creates a run (record, replay and its sweeps, import) ends here: the
  /// name is validated, and the run takes the next id of `runSequence` (schema v003), so
  /// that no id is ever reused.
  mutating func willInsert(_ db: Database) throws {
    try RunName.validate(name, option: "the run")
    guard id == nil, try db.tableExists("runSequence") else { return }
    id = try Int64.fetchOne(
      db, sql: "UPDATE runSequence SET lastID = max(lastID, (SELECT COALESCE(max(id), 0) FROM run)) + 1 RETURNING lastID")
  }

  mutating func didInsert(_ inserted: InsertionSuccess) { id = inserted.rowID }
}
