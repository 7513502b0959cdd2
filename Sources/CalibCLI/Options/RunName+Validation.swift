import ArgumentParser
import CalibStore

extension RunName {
  /// ``RunName/validate(_:option:)`` as a usage error (exit 64), for `validate()`.
  static func validateArgument(_ name: String, option: String) throws {
    do {
      try validate(name, option: option)
    } catch {
      throw ValidationError(String(describing: error))
    }
  }
}
