@_exported import CalibLifecycle
import CalibMigrations
import Foundation
internal import GRDB

/// A calibration store: a SQLite database (WAL mode) holding runs, sample descriptions,
/// per-step observer states and final quantization parameters, and beside it the
/// append-only file `<store>-samples` holding the sample payloads (``SampleSegment``).
/// The two files belong together.
///
/// Opening never modifies a file that is not ours: a foreign SQLite database, a non-SQLite
/// file or a store from a newer calib are refused before anything is written. Readers
/// (`runs`, `show`) work while a recording is being written.
///
/// For example:
/// ```swift
/// let store = try CalibrationStore(path: "calib.sqlite")
/// let runs = try store.runs()
/// ```
public final class CalibrationStore: Sendable {
  /// The path the store was opened from.
  public let path: String
  let pool: DatabasePool
  /// The payload file; `nil` for a read-only store that never wrote one or a v001 store
  /// opened read-only (whose payloads are all inline).
  let segment: SampleSegment?
  /// Where the payload file is: beside the database, with symbolic links in `path`
  /// resolved, as SQLite resolves them for the -wal and -shm files. A store reached through
  /// a link (`ln -s /mnt/big/calib.sqlite .`) keeps one payload file, beside its database.
  let segmentPath: String
  /// Whether the schema has `sample.payloadOffset` (v002); a v001 store opened read-only
  /// does not.
  let hasPayloadOffsets: Bool

  /// Opens (and, unless `readOnly`, migrates) the store at `path`; creates it when it is
  /// missing, unless `readOnly` or `mustExist`.
  ///
  /// - Throws: ``StoreError`` for a file that is not a calibration store, a store written
  ///   by a newer calib, a read-only file opened for writing, or a missing file
  ///   (``StoreError/storeNotFound(path:)``) opened read-only or with `mustExist`.
  public init(path: String, readOnly: Bool = false, mustExist: Bool = false) throws {
    self.path = path
    let fm = FileManager.default
    try Self.checkLocation(path)
    let exists = fm.fileExists(atPath: path)
    if exists {
      try Self.checkIsOurs(path: path)
      // The permission bits decide, not access(2): root may write anything.
      let mode = (try? fm.attributesOfItem(atPath: path)[.posixPermissions] as? Int) ?? 0o644
      if !readOnly && (!fm.isWritableFile(atPath: path) || mode & 0o222 == 0) {
        throw StoreError.readOnly(path: path)
      }
    } else if readOnly || mustExist {
      throw StoreError.storeNotFound(path: path)
    } else {
      // A samples file without its database: the store was deleted (or moved) but not its
      // samples. Starting a new store would fail on it, after creating the database.
      // The store is re-checked after the samples file: a process creating this store
      // links its database before it creates the samples, so a new store is not refused.
      let segmentPath = SampleSegment.path(forStore: path)
      if fm.fileExists(atPath: segmentPath) && !fm.fileExists(atPath: path) {
        throw StoreError.orphanedSegment(path: segmentPath, store: path)
      }
      try Self.create(path: path)
    }
    var config = Configuration()
    config.readonly = readOnly
    config.busyMode = .timeout(30)
    config.prepareDatabase { db in
      try db.execute(sql: "PRAGMA synchronous = NORMAL")
      // Checkpoint (and fsync) every 64 MiB of WAL rather than SQLite's 1000 pages, which
      // with 4 KiB pages would mean every couple of recorded steps.
      try db.execute(sql: "PRAGMA wal_autocheckpoint = 16384")
    }
    pool = try DatabasePool(path: try Self.sqlitePath(path, readOnly: readOnly), configuration: config)
    let migrator = Self.migrator
    try pool.read { db in
      if try migrator.hasBeenSuperseded(db) { throw StoreError.incompatibleSchema(path: path) }
      if readOnly, try !db.tableExists("run") { throw StoreError.notACalibrationStore(path: path) }
    }
    if !readOnly { try migrator.migrate(pool) }
    let bookkeeping = try pool.read { db -> Row? in
      try db.tableExists("sampleSegment") ? Row.fetchOne(db, sql: "SELECT token, endOffset FROM sampleSegment") : nil
    }
    hasPayloadOffsets = bookkeeping != nil
    let database = Self.resolvingLinks(path)
    segmentPath = SampleSegment.path(forStore: database)
    segment = try bookkeeping.flatMap { row in
      try SampleSegment.open(storePath: database, token: row["token"], endOffset: row["endOffset"], writable: !readOnly)
    }
  }

  /// The segment file, or the error saying why there is none.
  func requireSegment() throws -> SampleSegment {
    guard let segment else { throw StoreError.segmentMissing(path: segmentPath, store: path) }
    return segment
  }

  static var migrator: DatabaseMigrator {
    var m = DatabaseMigrator()
    for (identifier, sql) in CalibMigrations.all {
      m.registerMigration(identifier) { db in try db.execute(sql: sql) }
    }
    return m
  }

  /// Creates a new store in WAL mode with 4 KiB pages: payloads live in the segment file,
  /// so rows are small, and a step's commit rewrites a handful of small pages rather than
  /// 64 KiB ones. (Stores created before schema v002 keep their 64 KiB pages.)
  ///
  /// Creation is atomic: GRDB's migrator commits its `grdb_migrations` table before, and
  /// each migration in, a transaction of its own, so a store built in place could be seen
  /// (or left, by a crash) half made. It is built and fully migrated under a temporary name
  /// in the same directory, then hard-linked to `path`, which fails if another process
  /// created the store first; that process's complete store is then opened instead.
  private static func create(path: String) throws {
    let url = URL(fileURLWithPath: path)
    let temporary = url.deletingLastPathComponent()
      .appendingPathComponent(".\(url.lastPathComponent).creating-\(UUID().uuidString)").path
    defer {
      for suffix in ["", "-wal", "-shm"] { unlink(temporary + suffix) }
    }
    do {
      let queue = try DatabaseQueue(path: temporary)
      try queue.writeWithoutTransaction { db in
        try db.execute(sql: "PRAGMA page_size = 4096")
        try db.execute(sql: "PRAGMA journal_mode = WAL")
      }
      try migrator.migrate(queue)
      try queue.close()
    } catch let error as DatabaseError {
      throw StoreError.cannotCreate(path: path, reason: error.message ?? "\(error.resultCode)")
    }
    if link(temporary, path) == 0 { return }
    let reason = errno
    if reason == EEXIST { return }
    // File systems without hard links: rename, unless the store appeared meanwhile.
    if reason == EPERM || reason == ENOTSUP || reason == EXDEV || reason == EMLINK {
      if FileManager.default.fileExists(atPath: path) { return }
      if rename(temporary, path) == 0 { return }
    }
    throw StoreError.cannotCreate(path: path, reason: String(cString: strerror(errno)))
  }

  /// `path` with its symbolic links resolved (`realpath`), or as it is when that fails.
  private static func resolvingLinks(_ path: String) -> String {
    guard let resolved = realpath(path, nil) else { return path }
    defer { free(resolved) }
    return String(cString: resolved)
  }

  /// The name SQLite opens the store by: `path`, or, for a read-only open of a store on a
  /// read-only file system (a read-only mount or snapshot, a container's read-only volume),
  /// a URI with `immutable=1`. A relative path that begins with `file:` gets `./` in front:
  /// SQLite (built with URI names, as Debian's is) would read it as a URI and open another
  /// file (`file:demo.sqlite` is `demo.sqlite` to it) than the one calib checks and puts
  /// the payload file beside. Reading a WAL database takes a -shm file beside it, which
  /// cannot be created there, so SQLite would refuse even to list the runs; and since
  /// nobody can write the store there, reading it without locks or a WAL index is safe.
  ///
  /// - Throws: ``StoreError/pendingLogOnReadOnlyFileSystem(path:)`` when the store's -wal
  ///   file is not empty there: an immutable open would not see the transactions in it.
  static func sqlitePath(_ path: String, readOnly: Bool) throws -> String {
    var info = statvfs()
    guard readOnly, statvfs(path, &info) == 0, info.f_flag & UInt(ST_RDONLY) != 0 else {
      return path.hasPrefix("file:") ? "./" + path : path
    }
    var wal = stat()
    if stat(path + "-wal", &wal) == 0 && wal.st_size > 0 {
      throw StoreError.pendingLogOnReadOnlyFileSystem(path: path)
    }
    // SQLite's URI syntax: "%", "?", "#" and the bytes of non-ASCII characters are escaped
    // as %HH (SQLite decodes them back to the same bytes); "/" and other ASCII stay.
    var escaped = ""
    for byte in path.utf8 {
      if byte >= 0x80 || byte == UInt8(ascii: "%") || byte == UInt8(ascii: "?") || byte == UInt8(ascii: "#") {
        escaped += String(format: "%%%02X", byte)
      } else {
        escaped.unicodeScalars.append(Unicode.Scalar(byte))
      }
    }
    return "file:" + escaped + "?immutable=1"
  }

  /// Refuses a store path that is a directory, a device or another non-regular file, or
  /// whose directory does not exist, naming the path (SQLite's own errors do not).
  private static func checkLocation(_ path: String) throws {
    var info = stat()
    if stat(path, &info) == 0 {
      switch info.st_mode & S_IFMT {
      case S_IFREG: return
      case S_IFDIR: throw StoreError.notAFile(path: path, kind: "a directory")
      case S_IFCHR, S_IFBLK: throw StoreError.notAFile(path: path, kind: "a device")
      default: throw StoreError.notAFile(path: path, kind: "not a regular file")
      }
    }
    let directory = URL(fileURLWithPath: path).deletingLastPathComponent().path
    var isDirectory: ObjCBool = false
    if !FileManager.default.fileExists(atPath: directory, isDirectory: &isDirectory) || !isDirectory.boolValue {
      throw StoreError.directoryMissing(path: path, directory: directory)
    }
  }

  /// Refuses files that are not SQLite or are SQLite without our schema, without
  /// writing to them.
  private static func checkIsOurs(path: String) throws {
    guard let handle = FileHandle(forReadingAtPath: path) else { throw StoreError.readOnly(path: path) }
    let magic = (try? handle.read(upToCount: 16)) ?? Data()
    try? handle.close()
    if magic.isEmpty { return }  // an empty file becomes a new store
    guard magic == Data("SQLite format 3\0".utf8) else {
      throw StoreError.notACalibrationStore(path: path)
    }
    var config = Configuration()
    config.readonly = true
    config.busyMode = .timeout(30)
    // Another process closing its last connection checkpoints and removes the -wal and
    // -shm files; a read-only open racing that fails transiently, so it is retried.
    var attempts = 0
    var opened: DatabaseQueue?
    while opened == nil {
      do {
        opened = try DatabaseQueue(path: try sqlitePath(path, readOnly: true), configuration: config)
        _ = try opened?.read { db in try Int.fetchOne(db, sql: "SELECT count(*) FROM sqlite_master") }
      } catch let error as DatabaseError where attempts < 100 && [.SQLITE_BUSY, .SQLITE_CANTOPEN, .SQLITE_LOCKED, .SQLITE_IOERR].contains(error.resultCode) {
        try? opened?.close()
        opened = nil
        attempts += 1
        usleep(20_000)
      } catch let error as DatabaseError where error.resultCode != .SQLITE_NOTADB && error.resultCode != .SQLITE_CORRUPT {
        // A SQLite file that cannot be opened now: a full disk, permissions, I/O.
        throw StoreError.cannotOpen(path: path, reason: error.message ?? "\(error.resultCode)")
      } catch let error as StoreError {
        throw error
      } catch {
        throw StoreError.notACalibrationStore(path: path)
      }
    }
    guard let queue = opened else { throw StoreError.notACalibrationStore(path: path) }
    defer { try? queue.close() }
    let isOurs = try queue.read { db in
      let tables = try String.fetchSet(db, sql: "SELECT name FROM sqlite_master WHERE type = 'table'")
      if tables.isEmpty || (tables.contains("grdb_migrations") && tables.contains("run")) { return true }
      // Left by a creation interrupted in older versions, which migrated in place: GRDB's
      // table committed, no migration yet. Nothing else is in it, so it is a new store.
      guard tables == ["grdb_migrations"] else { return false }
      return try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM grdb_migrations") == 0
    }
    if !isOurs { throw StoreError.notACalibrationStore(path: path) }
  }

  /// The applied migration identifiers, oldest first.
  public func appliedMigrations() throws -> [String] {
    try pool.read { db in try Self.migrator.appliedIdentifiers(db).sorted() }
  }
}
