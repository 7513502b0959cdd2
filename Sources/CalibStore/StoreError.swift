/// Problems with a store or its contents, each message naming the object and what to do.
public enum StoreError: Error, Equatable, CustomStringConvertible {
  case runNotFound(String, store: String)
  case runAlreadyExists(String)
  case invalidRunName(String, option: String, reason: String)
  case runNotResumable(String, status: String)
  case runInUse(String, dependents: [String])
  case incompatibleSchema(path: String)
  case notACalibrationStore(path: String)
  /// A command that works on an existing store was given a path where there is none.
  case storeNotFound(path: String)
  case readOnly(path: String)
  case notAFile(path: String, kind: String)
  case directoryMissing(path: String, directory: String)
  case cannotCreate(path: String, reason: String)
  case corruptSample(module: String, baseName: String, step: Int, reason: String)
  case segmentMissing(path: String, store: String)
  case segmentMismatch(path: String, store: String)
  case orphanedSegment(path: String, store: String)
  case segmentIO(path: String, reason: String)
  case runGone(String, store: String)
  case cannotOpen(path: String, reason: String)
  /// A store on a read-only file system whose -wal file holds transactions SQLite cannot
  /// read there.
  case pendingLogOnReadOnlyFileSystem(path: String)
  case diskFull(store: String)
  case busy(store: String)
  case runBeingWritten(String, store: String)
  /// A `record --replace` of a run that another live process is already replacing.
  case runBeingReplaced(String, store: String)
  case runIncomplete(String, status: String, store: String)

  public var description: String {
    switch self {
    case .runNotFound(let name, let store):
      "run \"\(name)\" not found in \(store): use 'calib runs \(store)' to list runs"
    case .runAlreadyExists(let name):
      "run \"\(name)\" already exists: choose another --run/--name, resume it with --resume, or delete it with 'calib rm'"
    case .invalidRunName(let name, let option, let reason):
      "run name \(RunName.displayed(name)) is invalid (\(reason)): give \(option) a non-empty, single-line name of at most \(RunName.maxLength) characters"
    case .runNotResumable(let name, let status):
      "run \"\(name)\" is \(status) and cannot be resumed: only recorded runs in progress or failed can be resumed"
    case .runInUse(let name, let dependents):
      "run \"\(name)\" holds samples used by \(dependents.joined(separator: ", ")): delete those runs first"
    case .incompatibleSchema(let path):
      "\(path) was written by a newer version of calib: upgrade calib to open it"
    case .notACalibrationStore(let path):
      "\(path) is not a calibration store: give a new file name or an existing calib store"
    case .storeNotFound(let path):
      "\(path) does not exist: give the path of a calibration store ('calib record' creates one)"
    case .notAFile(let path, let kind):
      "\(path) is \(kind), not a store file: give the path of a calibration store (e.g. calib.sqlite)"
    case .directoryMissing(let path, let directory):
      "cannot create store \(path): directory \(directory) does not exist: create it first or give another path"
    case .cannotCreate(let path, let reason):
      "cannot create store \(path) (\(reason)): check that its directory is writable"
    case .readOnly(let path):
      "\(path) is read-only: make it writable, or copy it somewhere writable, and run the command again"
    case .corruptSample(let module, let base, let step, let reason):
      "sample \(module).\(base) step \(step) is corrupt (\(reason)): run 'calib check' and re-record the run"
    case .segmentMissing(let path, let store):
      "\(path) is missing: it holds the sample data of \(store); keep (or copy) the two files together"
    case .segmentMismatch(let path, let store):
      "\(path) does not belong to \(store) (its header names another store): put the store's own -samples file beside it"
    case .orphanedSegment(let path, let store):
      "\(path) holds the samples of a store that is no longer at \(store): put that store back beside it, or delete the file (and its samples with it) to start a new store there"
    case .segmentIO(let path, let reason):
      "\(path): \(reason): check the disk and the file's permissions"
    case .diskFull(let store):
      "the disk holding \(store) is full: free space on it ('calib rm' of unneeded runs and 'calib gc' give the store's own back) and run the command again"
    case .busy(let store):
      "\(store) is busy: another calib process has held its write lock for 30 s; run the command again when it finishes"
    case .cannotOpen(let path, let reason):
      "\(path) cannot be opened (\(reason)): SQLite needs room for its -wal and -shm files beside it; free space on that disk (or fix its permissions) and run the command again"
    case .pendingLogOnReadOnlyFileSystem(let path):
      "\(path) is on a read-only file system, and its -wal file holds transactions that SQLite can read only where it may write beside the store: open it once where it is writable ('calib check' does), then copy it here again"
    case .runGone(let name, let store):
      "run \"\(name)\" was removed from \(store) while this command was using it: nothing more was written; run the command again"
    case .runIncomplete(let name, let status, let store):
      "run \"\(name)\" in \(store) is \(status), not complete: its parameters or samples are partial; measure it once it is complete ('calib runs \(store)' shows its status)"
    case .runBeingWritten(let name, let store):
      "run \"\(name)\" in \(store) is still being written by another calib process: wait for it, or pass --force to remove it (the writer then stops)"
    case .runBeingReplaced(let name, let store):
      "run \"\(name)\" in \(store) is being replaced by another calib process: wait for it to finish, then replace it again if needed"
    }
  }
}
