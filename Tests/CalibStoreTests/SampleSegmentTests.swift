import CalibCore
import CalibFormats
import CalibMigrations
@testable import CalibStore
import CalibTestSupport
import Foundation
import GRDB
import Testing

/// Sample payloads live in `<store>-samples` (schema v002).
@Suite struct SampleSegmentTests {
  /// A synthetic recording "r" (3 steps) in a fresh store.
  struct Recorded {
    let dir: TemporaryDirectory
    let input: SyntheticRecording
    let path: String
    var segmentPath: String { path + "-samples" }

    init() throws {
      dir = try TemporaryDirectory()
      input = try SyntheticRecording(in: dir, steps: 3, modules: 2, tokens: 8, hidden: 64)
      path = dir.path("s.sqlite")
      try record("r", into: try CalibrationStore(path: path))
    }

    func request(_ run: String) throws -> RecordRequest {
      RecordRequest(
        runName: run, recipe: (try String(contentsOfFile: input.recipeFile, encoding: .utf8), "recipe"),
        weightFiles: [input.weightsFile], stepFiles: input.stepFiles)
    }

    func record(_ run: String, into store: CalibrationStore) throws {
      _ = try Recorder(store: store).record(try request(run))
    }

    var segmentSize: Int { (try? FileManager.default.attributesOfItem(atPath: segmentPath)[.size] as? Int) ?? -1 }
  }

  @Test func payloadsLiveInTheSegmentFileAndReadBackExactly() throws {
    let r = try Recorded()
    let store = try CalibrationStore(path: r.path, readOnly: true)
    let samples = try store.samples(ofRecording: "r")
    #expect(r.segmentSize == 64 + samples.reduce(0) { $0 + $1.byteCount })
    let header = try Data(contentsOf: URL(fileURLWithPath: r.segmentPath)).prefix(8)
    #expect(String(decoding: header, as: UTF8.self) == "CALIBSEG")
    for sample in samples {
      let bytes = try store.sampleBytes(sample)
      #expect(bytes.count == sample.byteCount)
      #expect(bytes.withUnsafeBytes { XXHash64.hex($0) } == sample.checksum)
    }
    // Step 1's first tensor, as the step file holds it.
    let file = try SafetensorsFile(path: r.input.stepFiles[1])
    let entry = try #require(file.entries.first)
    let stored = try #require(samples.first { "\($0.module).\($0.baseName.rawValue)" == entry.name && $0.step == 1 })
    #expect(try store.sampleTensor(stored).values == (try file.tensor(entry.name)).values)
    // Nothing of the payloads is left in SQLite.
    let inline = try DatabaseQueue(path: r.path).read { db in try Int.fetchOne(db, sql: "SELECT sum(length(data)) FROM sample") }
    #expect(inline == 0)
    #expect(try store.check().isEmpty)
  }

  /// The kernel copy and its buffered fallback (for file systems without `sendfile`
  /// between files) place the same ranges at the same offsets.
  @Test(arguments: [true, false])
  func copiesRangesBackToBack(kernelCopy: Bool) throws {
    let r = try Recorded()
    let source = r.dir.path("source.bin")
    let bytes = (0..<1_000_000).map { UInt8(truncatingIfNeeded: $0 &* 7919) }
    #expect(FileManager.default.createFile(atPath: source, contents: Data(bytes)))
    let segment = try CalibrationStore(path: r.path).requireSegment()
    let at = Int64(r.segmentSize) + 10
    let ranges = [5..<300_005, 0..<0, 700_000..<1_000_000, 17..<18]
    try segment.copy(from: source, ranges: ranges, to: at, kernelCopy: kernelCopy)
    let expected = ranges.flatMap { bytes[$0] }
    #expect(try segment.bytes(at: at, count: expected.count) == expected)
    #expect(throws: StoreError.self) {
      try segment.copy(from: source, ranges: [999_990..<1_000_010], to: at, kernelCopy: kernelCopy)
    }
  }

  @Test func aMissingSegmentIsAClearErrorAndNothingIsWritten() throws {
    let r = try Recorded()
    try FileManager.default.removeItem(atPath: r.segmentPath)
    let expected = StoreError.segmentMissing(path: r.segmentPath, store: r.path)
    #expect(throws: expected) { try CalibrationStore(path: r.path, readOnly: true) }
    #expect(throws: expected) { try CalibrationStore(path: r.path) }
    #expect(!FileManager.default.fileExists(atPath: r.segmentPath))
    #expect(expected.description.contains("keep (or copy) the two files together"))
  }

  /// A store deleted without its samples file: starting a new store at its path is refused
  /// before anything is created, and the samples are left as they were.
  @Test func aSegmentLeftByADeletedStoreIsRefusedAndNothingIsCreated() throws {
    let r = try Recorded()
    let samples = try Data(contentsOf: URL(fileURLWithPath: r.segmentPath))
    for suffix in ["", "-wal", "-shm"] { try? FileManager.default.removeItem(atPath: r.path + suffix) }
    let expected = StoreError.orphanedSegment(path: r.segmentPath, store: r.path)
    #expect(throws: expected) { try CalibrationStore(path: r.path) }
    #expect(!FileManager.default.fileExists(atPath: r.path))
    #expect(try Data(contentsOf: URL(fileURLWithPath: r.segmentPath)) == samples)
    #expect(expected.description.contains("delete the file"))
    // Once it is deleted, the path takes a new store.
    try FileManager.default.removeItem(atPath: r.segmentPath)
    _ = try CalibrationStore(path: r.path)
    #expect(FileManager.default.fileExists(atPath: r.path))
  }

  @Test func anotherStoresSegmentIsRefused() throws {
    let a = try Recorded()
    let b = try Recorded()
    try FileManager.default.removeItem(atPath: a.segmentPath)
    try FileManager.default.copyItem(atPath: b.segmentPath, toPath: a.segmentPath)
    #expect(throws: StoreError.segmentMismatch(path: a.segmentPath, store: a.path)) {
      try CalibrationStore(path: a.path, readOnly: true)
    }
  }

  @Test func aTruncatedSegmentIsReportedNotMisread() throws {
    let r = try Recorded()
    let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: r.segmentPath))
    try handle.truncate(atOffset: UInt64(r.segmentSize - 100))
    try handle.close()
    let store = try CalibrationStore(path: r.path, readOnly: true)
    let problems = try store.check()
    #expect(problems.count == 1)
    #expect(problems.first?.hasSuffix("s.sqlite-samples ends before its payload") == true, "\(problems)")
    let last = try #require(try store.samples(ofRecording: "r").max { $0.id < $1.id })
    #expect(throws: StoreError.self) { try store.sampleTensor(last) }
  }

  /// A power loss can leave committed rows whose payloads past the last `fdatasync` never
  /// reached the disk; resuming re-records from the first such step.
  @Test func resumeRewritesUnsyncedStepsThatFailTheirChecksum() throws {
    let r = try Recorded()
    let expected = try CalibrationStore(path: r.path, readOnly: true).finalQParams(ofRun: "r")
    let firstOfStep1 = try #require(
      try CalibrationStore(path: r.path, readOnly: true).samples(ofRecording: "r").filter { $0.step == 1 && $0.baseName != .weight }
        .min { $0.id < $1.id })
    // As after a power loss: the run unfinished, nothing synchronized, step 1's bytes lost.
    let queue = try DatabaseQueue(path: r.path)
    let offset = try queue.write { db -> Int64 in
      try db.execute(sql: "UPDATE run SET status = 'in_progress'")
      try db.execute(sql: "UPDATE sampleSegment SET syncedOffset = 64")
      return try Int64.fetchOne(db, sql: "SELECT payloadOffset FROM sample WHERE id = ?", arguments: [firstOfStep1.id]) ?? -1
    }
    try queue.close()
    let handle = try FileHandle(forUpdating: URL(fileURLWithPath: r.segmentPath))
    try handle.seek(toOffset: UInt64(offset))
    try handle.write(contentsOf: Data(repeating: 0, count: firstOfStep1.byteCount))
    try handle.close()

    let store = try CalibrationStore(path: r.path)
    #expect(try store.check().count == 1)
    var resume = try r.request("r")
    resume.recipe = nil
    resume.resume = true
    let summary = try Recorder(store: store).record(resume)
    let perStep = try SafetensorsFile(path: r.input.stepFiles[1]).entries.count
    #expect(summary.tensors == 2 * perStep, "steps 1 and 2 are recorded again")
    #expect(try store.check().isEmpty)
    #expect(try store.finalQParams(ofRun: "r") == expected)
  }

  /// Once `syncInterval` committed bytes wait, the next transaction synchronizes them on
  /// another thread while it appends its own, and records how far they are durable when it
  /// commits; its own bytes wait for a later transaction (or the run's completion).
  @Test func aTransactionSynchronizesWhatWasCommittedBeforeIt() throws {
    let r = try Recorded()
    let store = try CalibrationStore(path: r.path)
    func offsets() throws -> (end: Int64, synced: Int64) {
      try store.pool.read { db in
        let row = try #require(try Row.fetchOne(db, sql: "SELECT endOffset, syncedOffset FROM sampleSegment"))
        return (row["endOffset"], row["syncedOffset"])
      }
    }
    func append(_ count: Int, interval: Int64, synchronizing: Bool = false) throws {
      try store.pool.write { db in
        var appender = try SegmentAppender(db, segment: try store.requireSegment(), synchronizing: synchronizing, syncInterval: interval)
        _ = try [UInt8](repeating: 7, count: count).withUnsafeBytes { try appender.append($0) }
        try appender.finish(db)
      }
    }
    let completed = try offsets()
    #expect(completed.synced == completed.end, "a completed run is durable")
    try append(100, interval: 1)
    #expect(try offsets() == (completed.end + 100, completed.end), "nothing was waiting when it began")
    try append(50, interval: 200)
    #expect(try offsets() == (completed.end + 150, completed.end), "100 bytes wait, fewer than the interval")
    try append(30, interval: 100)
    #expect(try offsets() == (completed.end + 180, completed.end + 150), "the 150 committed before it")
    try append(0, interval: 1, synchronizing: true)
    #expect(try offsets() == (completed.end + 180, completed.end + 180))
  }

  @Test func removingTheLastRecordingGivesItsBytesBack() throws {
    let r = try Recorded()
    let afterFirst = r.segmentSize
    try r.record("second", into: try CalibrationStore(path: r.path))
    #expect(r.segmentSize == 2 * afterFirst - 64)
    // Removing the first leaves a hole (the second still follows it); removing the
    // second then gives everything back.
    try CalibrationStore(path: r.path).deleteRun(named: "r")
    #expect(r.segmentSize == 2 * afterFirst - 64)
    let store = try CalibrationStore(path: r.path)
    #expect(try store.check().isEmpty)
    try store.deleteRun(named: "second")
    #expect(r.segmentSize == 64)
    try r.record("third", into: store)
    #expect(r.segmentSize == afterFirst)
    #expect(try store.check().isEmpty)
  }

  /// The disk space of a payload file: its allocated blocks, holes not counted.
  private func allocatedBytes(_ path: String) -> Int {
    var info = stat()
    return stat(path, &info) == 0 ? Int(info.st_blocks) * 512 : -1
  }

  /// Every `record --replace` appends the new recording and removes the old one, which
  /// leaves a gap before it: the gaps become holes, so the file takes the disk space of
  /// the live recording (plus part-blocks at the gaps' edges), not of every replace ever
  /// made, and what stays reads back exactly.
  @Test func replacedRecordingsGiveTheirDiskSpaceBack() throws {
    let dir = try TemporaryDirectory()
    let input = try SyntheticRecording(in: dir, steps: 3, modules: 2, tokens: 256, hidden: 256)
    let path = dir.path("s.sqlite")
    let store = try CalibrationStore(path: path)
    var request = RecordRequest(
      runName: "r", recipe: (try String(contentsOfFile: input.recipeFile, encoding: .utf8), "recipe"),
      weightFiles: [input.weightsFile], stepFiles: input.stepFiles)
    _ = try Recorder(store: store).record(request)
    let segment = path + "-samples"
    let one = allocatedBytes(segment)
    #expect(one > 1 << 20)
    let expected = try store.finalQParams(ofRun: "r")
    request.replace = true
    for _ in 0..<5 { _ = try Recorder(store: store).record(request) }
    let size = try #require(FileManager.default.attributesOfItem(atPath: segment)[.size] as? Int)
    #expect(size > 5 * one, "the offsets of what stays do not move")
    #expect(allocatedBytes(segment) < one + one / 8, "\(allocatedBytes(segment)) bytes allocated against \(one) for one recording")
    #expect(try store.check().isEmpty)
    #expect(try store.finalQParams(ofRun: "r") == expected)
    // Holes already punched are not given back twice.
    #expect(try store.givePayloadSpaceBack() == 0)
  }

  /// Compaction moves payloads down over the gaps that replaced recordings left, so the
  /// file's size becomes what its payloads take (recordings longer than the gap before them
  /// slide down in chunks); every payload still matches its checksum, replays of the moved
  /// recordings give the same parameters, and a second compaction has nothing to do.
  @Test func compactionMovesPayloadsOverTheGaps() throws {
    let dir = try TemporaryDirectory()
    let small = try SyntheticRecording(in: dir, steps: 2, modules: 2, tokens: 512, hidden: 256)
    let bigDir = try TemporaryDirectory()
    let big = try SyntheticRecording(in: bigDir, steps: 6, modules: 2, tokens: 512, hidden: 256)
    func request(_ name: String, _ input: SyntheticRecording) throws -> RecordRequest {
      RecordRequest(
        runName: name, recipe: (try String(contentsOfFile: input.recipeFile, encoding: .utf8), "recipe"),
        weightFiles: [input.weightsFile], stepFiles: input.stepFiles)
    }
    let path = dir.path("s.sqlite")
    let store = try CalibrationStore(path: path)
    // small-a, big, small-b, then small-a replaced twice: its old copies leave gaps of its
    // size (over 1 MiB), one before `big` (which is longer, and slides down in chunks) and
    // one before the last copy.
    for (name, input) in [("small-a", small), ("big", big), ("small-b", small)] {
      _ = try Recorder(store: store).record(try request(name, input))
    }
    let recipe = try String(contentsOfFile: big.recipeFile, encoding: .utf8)
    func replay(_ name: String) throws {
      let variant = ReplayVariant(name: name, recipe: try Recipe(text: recipe, source: "recipe"), recipeText: recipe, differences: [])
      _ = try ReplayEngine(store: store).replay(ReplayRequest(from: "big", variants: [variant], threads: 1))
    }
    try replay("big-mse")
    var replace = try request("small-a", small)
    replace.replace = true
    for _ in 0..<2 { _ = try Recorder(store: store).record(replace) }
    let expected = try ["small-a", "big", "small-b", "big-mse"].map { try store.finalQParams(ofRun: $0) }
    let live = try store.samples(ofRecording: "small-a").reduce(0) { $0 + Int64($1.byteCount) }
      + store.samples(ofRecording: "big").reduce(0) { $0 + Int64($1.byteCount) }
      + store.samples(ofRecording: "small-b").reduce(0) { $0 + Int64($1.byteCount) }

    let compaction = try #require(try store.compactPayloads())
    #expect(compaction.moved > 0)
    #expect(compaction.sizeAfter < compaction.sizeBefore)
    #expect(try store.samples(ofRecording: "small-a").reduce(0) { $0 + Int64($1.byteCount) } >= CalibrationStore.minimumGap)
    #expect(compaction.sizeAfter == SampleSegment.headerSize + live, "\(compaction)")
    #expect(try store.check().isEmpty)
    #expect(try ["small-a", "big", "small-b", "big-mse"].map { try store.finalQParams(ofRun: $0) } == expected)
    try replay("big-mse-2")
    #expect(try store.finalQParams(ofRun: "big-mse-2").map(\.parameters) == expected[3].map(\.parameters))
    #expect(try store.compactPayloads()?.moved == 0)
  }

  /// A store written by schema v001 keeps its inline payloads readable after migrating,
  /// and new recordings go to the segment.
  @Test func aVersion1StoreMigratesAndKeepsItsInlineSamples() throws {
    let dir = try TemporaryDirectory()
    let path = dir.path("old.sqlite")
    let queue = try DatabaseQueue(path: path)
    var v001 = DatabaseMigrator()
    let (identifier, sql) = CalibMigrations.all[0]
    v001.registerMigration(identifier) { db in try db.execute(sql: sql) }
    try v001.migrate(queue)
    let payload: [Float] = [1, -2, 3.5, 0.25]
    let bytes = Data(payload.flatMap { withUnsafeBytes(of: $0.bitPattern.littleEndian, Array.init) })
    try queue.write { db in
      try db.execute(
        sql: """
          INSERT INTO run (id, name, kind, recordingID, toolVersion, createdAt, status) VALUES (1, 'old', 'recorded', 1, 'v001', '2026-01-01T00:00:00Z', 'complete');
          INSERT INTO module (id, name) VALUES (1, 'm');
          """)
      try db.execute(
        sql: "INSERT INTO sample (recordingID, moduleID, baseName, step, dtype, shape, byteCount, checksum, data) VALUES (1, 1, 'input', 0, 'F32', '[2,2]', 16, ?, ?)",
        arguments: [bytes.withUnsafeBytes { XXHash64.hex($0) }, bytes])
    }
    try queue.close()

    let readOnly = try CalibrationStore(path: path, readOnly: true)
    #expect(try readOnly.sampleTensor(try #require(try readOnly.samples(ofRecording: "old").first)).values == payload)
    let store = try CalibrationStore(path: path)
    #expect(try store.appliedMigrations().last == "v005_observer_sweep")
    #expect(try store.sampleTensor(try #require(try store.samples(ofRecording: "old").first)).values == payload)
    #expect(try store.check().isEmpty)
  }
}
