import CalibCore
import CalibStore
import CalibTestSupport
import Foundation
import GRDB
import Testing

@Suite struct StoreTests {
  /// Shipped migrations are append-only: this list only ever grows.
  @Test func migrationsAreFrozen() throws {
    let dir = try TemporaryDirectory()
    let store = try CalibrationStore(path: dir.path("s.sqlite"))
    #expect(try store.appliedMigrations() == ["v001_initial_schema", "v002_sample_segment", "v003_run_identity_and_dtypes", "v004_observer_histogram", "v005_observer_sweep"])
  }

  @Test func aStoreFromANewerCalibIsRefusedUnchanged() throws {
    let dir = try TemporaryDirectory()
    let path = dir.path("s.sqlite")
    _ = try CalibrationStore(path: path)
    let queue = try DatabaseQueue(path: path)
    try queue.write { db in try db.execute(sql: "INSERT INTO grdb_migrations (identifier) VALUES ('v999_from_the_future')") }
    try queue.close()
    #expect(throws: StoreError.incompatibleSchema(path: path)) { try CalibrationStore(path: path) }
    #expect(throws: StoreError.incompatibleSchema(path: path)) { try CalibrationStore(path: path, readOnly: true) }
  }

  @Test func missingStoreIsNotCreatedByReaders() throws {
    let dir = try TemporaryDirectory()
    let path = dir.path("none.sqlite")
    #expect(throws: StoreError.storeNotFound(path: path)) { try CalibrationStore(path: path, readOnly: true) }
    #expect(throws: StoreError.storeNotFound(path: path)) { try CalibrationStore(path: path, mustExist: true) }
    #expect(!FileManager.default.fileExists(atPath: path))
    #expect(!FileManager.default.fileExists(atPath: path + "-samples"))
  }

  @Test func xxhash64MatchesTheReferenceImplementation() {
    // python3 -c "import xxhash; print(xxhash.xxh64(b'').hexdigest(), xxhash.xxh64(b'abc').hexdigest(),
    //             xxhash.xxh64(bytes(range(100))).hexdigest())"
    func hash(_ bytes: [UInt8]) -> String { bytes.withUnsafeBytes { XXHash64.hex($0) } }
    #expect(hash([]) == "ef46db3751d8e999")
    #expect(hash(Array("abc".utf8)) == "44bc2cf5ad770999")
    #expect(hash(Array(0..<100)) == "6ac1e58032166597")
    // Streaming in odd pieces gives the same digest.
    var h = XXHash64()
    let data = Array(UInt8(0)..<100)
    for chunk in [0..<3, 3..<40, 40..<41, 41..<100] { data[chunk].withUnsafeBytes { h.update($0) } }
    #expect(h.hexDigest == "6ac1e58032166597")
  }

  @Test func samplesKeepTheirRecordedDtype() throws {
    let dir = try TemporaryDirectory()
    let input = try SyntheticRecording(in: dir, steps: 2, modules: 1, tokens: 8, hidden: 64)
    let store = try CalibrationStore(path: dir.path("s.sqlite"))
    _ = try Recorder(store: store).record(RecordRequest(
      runName: "r", recipe: (try String(contentsOfFile: input.recipeFile, encoding: .utf8), "r"), weightFiles: [input.weightsFile], stepFiles: input.stepFiles))
    let samples = try store.samples(ofRecording: "r")
    #expect(samples.first { $0.baseName == .input }?.dtype == .bf16)
    #expect(samples.first { $0.baseName == .output }?.dtype == .f32)
    #expect(samples.first { $0.baseName == .weight }?.dtype == .bf16)
    #expect(samples.first { $0.baseName == .input }?.byteCount == 2 * 8 * 64 * 2)
  }
}
