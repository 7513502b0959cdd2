/// The store's schema migrations, embedded in the binary: one `.sql` file each, applied in
/// order, never edited once shipped.
public enum CalibMigrations {
  /// `(identifier, SQL)` pairs in application order. The identifier is the file stem.
  public static let all: [(identifier: String, sql: String)] = [
    ("v001_initial_schema", String(decoding: PackageResources.v001_initial_schema_sql, as: UTF8.self)),
    ("v002_sample_segment", String(decoding: PackageResources.v002_sample_segment_sql, as: UTF8.self)),
    ("v003_run_identity_and_dtypes", String(decoding: PackageResources.v003_run_identity_and_dtypes_sql, as: UTF8.self)),
    ("v004_observer_histogram", String(decoding: PackageResources.v004_observer_histogram_sql, as: UTF8.self)),
    ("v005_observer_sweep", String(decoding: PackageResources.v005_observer_sweep_sql, as: UTF8.self)),
  ]
}
