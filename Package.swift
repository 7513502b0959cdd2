// swift-tools-version:6.0
import PackageDescription

let package = Package(
  name: "CalibStore",
  platforms: [.macOS(.v14)],
  products: [
    .library(name: "CalibCore", targets: ["CalibCore"]),
    .library(name: "CalibLifecycle", targets: ["CalibLifecycle"]),
    .library(name: "CalibFormats", targets: ["CalibFormats"]),
    .library(name: "CalibStore", targets: ["CalibStore"]),
    .library(name: "CalibCharts", targets: ["CalibCharts"]),
    .library(name: "CalibCLI", targets: ["CalibCLI"]),
    .executable(name: "calib", targets: ["calib"]),
    .executable(name: "calib-bench", targets: ["calib-bench"]),
  ],
  dependencies: [
    .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
    .package(url: "https://github.com/groue/GRDB.swift", from: "7.10.0"),
    .package(url: "https://github.com/jpsim/Yams", from: "6.0.0"),
  ],
  targets: [
    // MARK: Libraries
    // The hottest loops again for AVX2 and AVX-512, chosen at run time (Swift has no
    // per-function target CPU); same operations, same bits as CalibCore's lanes.
    .target(name: "CalibKernels"),
    .target(name: "CalibCore", dependencies: ["CalibKernels"]),
    .target(name: "CalibLifecycle", dependencies: ["CalibCore"]),
    .target(name: "CalibFormats", dependencies: ["CalibCore", "CalibProcess"]),
    // SVG chart builders for `calib report`: no dependency on the rest, so the math stays
    // free of presentation and the charts free of the store.
    .target(name: "CalibCharts"),
    .target(name: "CalibProcess"),
    .target(
      name: "CalibMigrations", path: "Migrations",
      resources: [.embedInCode("v001_initial_schema.sql"), .embedInCode("v002_sample_segment.sql"),
        .embedInCode("v003_run_identity_and_dtypes.sql"), .embedInCode("v004_observer_histogram.sql"),
        .embedInCode("v005_observer_sweep.sql"),
      ]),
    .target(
      name: "CalibStore",
      dependencies: [
        // CalibKernels for its file-hole shims (fallocate, SEEK_DATA), which Glibc hides.
        "CalibCore", "CalibKernels", "CalibLifecycle", "CalibFormats", "CalibMigrations",
        .product(name: "GRDB", package: "GRDB.swift"),
        .product(name: "GRDBSQLite", package: "GRDB.swift"),
        .product(name: "Yams", package: "Yams"),
      ]),
    .target(
      name: "CalibCLI",
      dependencies: [
        "CalibProcess",
        "CalibCore", "CalibFormats", "CalibStore", "CalibCharts",
        .product(name: "ArgumentParser", package: "swift-argument-parser"),
      ]),

    .target(
      name: "CalibTestSupport", dependencies: ["CalibCore", "CalibFormats"],
      path: "Sources/CalibTestSupport"),

    // MARK: Executables
    .executableTarget(name: "calib", dependencies: ["CalibCLI", "CalibCore"]),
    // calib-bench's bandwidth baseline: a streaming read as wide as the CPU allows.
    .target(name: "CalibBenchKernels"),
    .executableTarget(
      name: "calib-bench",
      dependencies: [
        "CalibCore", "CalibKernels", "CalibBenchKernels", "CalibFormats", "CalibStore",
        .product(name: "ArgumentParser", package: "swift-argument-parser"),
      ]),

    // MARK: Tests
    .testTarget(name: "CalibCoreTests", dependencies: ["CalibCore", "CalibKernels", "CalibFormats", "CalibTestSupport"]),
    .testTarget(name: "CalibFormatsTests", dependencies: ["CalibFormats"]),
    .testTarget(name: "CalibChartsTests", dependencies: ["CalibCharts"]),
    .testTarget(
      name: "CalibStoreTests",
      dependencies: [
        "CalibStore", "CalibCore", "CalibFormats", "CalibMigrations", "CalibTestSupport",
        .product(name: "GRDB", package: "GRDB.swift"),
      ]),
    .testTarget(
      name: "CalibCLITests",
      dependencies: [
        "CalibCLI", "CalibStore", "CalibCore", "CalibFormats", "CalibCharts", "CalibTestSupport", .target(name: "calib"),
        .product(name: "GRDB", package: "GRDB.swift"),
      ]),
  ],
  swiftLanguageModes: [.v6]
)
