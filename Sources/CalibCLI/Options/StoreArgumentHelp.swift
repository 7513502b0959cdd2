import ArgumentParser

extension ArgumentHelp {
  /// The STORE argument of every command.
  static let store = ArgumentHelp("The calibration store: a SQLite file, with its payload file <store>-samples beside it.")

  /// The STORE argument of `calib record`, which creates the store when missing.
  static let newOrExistingStore = ArgumentHelp(
    "The calibration store: a SQLite file, with its payload file <store>-samples beside it (both created if missing).")
}
