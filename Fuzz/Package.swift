// swift-tools-version:6.0
// libFuzzer targets for the parsers that read untrusted input. A separate package, so that
// neither `swift build` nor `swift test` of the main package builds or runs them: build and
// run them with `Fuzz/run.sh [seconds]`, which adds the sanitizer flags.
import PackageDescription

let package = Package(
  name: "CalibFuzz",
  platforms: [.macOS(.v14)],
  dependencies: [
    .package(name: "CalibStore", path: "..")
  ],
  targets: [
    .target(name: "FuzzDriver"),
    .executableTarget(
      name: "SafetensorsFuzzer",
      dependencies: ["FuzzDriver", .product(name: "CalibFormats", package: "CalibStore")]),
    .executableTarget(
      name: "RecipeFuzzer",
      dependencies: ["FuzzDriver", .product(name: "CalibStore", package: "CalibStore")]),
  ],
  swiftLanguageModes: [.v6]
)
