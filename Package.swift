// swift-tools-version:6.0
import PackageDescription

let package = Package(
  name: "CalibStore",
  platforms: [.macOS(.v14)],
  products: [
    .library(name: "CalibCore", targets: ["CalibCore"]),
    .library(name: "CalibFormats", targets: ["CalibFormats"]),
    .executable(name: "calib-bench", targets: ["calib-bench"]),
  ],
  dependencies: [
    .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
  ],
  targets: [
    // MARK: Libraries
    .target(name: "CalibCore"),
    .target(name: "CalibFormats", dependencies: ["CalibCore"]),

    // MARK: Executables
    .executableTarget(
      name: "calib-bench",
      dependencies: [
        "CalibCore", "CalibFormats",
        .product(name: "ArgumentParser", package: "swift-argument-parser"),
      ]),

    // MARK: Tests
    .testTarget(name: "CalibCoreTests", dependencies: ["CalibCore", "CalibFormats"]),
    .testTarget(name: "CalibFormatsTests", dependencies: ["CalibFormats"]),
  ],
  swiftLanguageModes: [.v6]
)
