import ArgumentParser
import CalibCore
import CalibStore

/// A `--module` filter: a glob over the full module name (`*` and `?`), or a regular
/// expression after `re:` (matched from the start, as in recipes).
public struct ModulePattern: ExpressibleByArgument, Sendable {
  public let text: String
  private let regex: ModuleRegex?

  /// `nil` (an argument error) for an invalid `re:` expression.
  public init?(argument: String) {
    do {
      regex = try ModuleRegex(argument)
    } catch {
      return nil
    }
    text = argument
  }

  /// Whether `name` matches.
  public func matches(_ name: String) -> Bool {
    if let regex { return regex.matches(name) }
    return Self.glob(Array(text), Array(name))
  }

  private static func glob(_ p: [Character], _ s: [Character]) -> Bool {
    var (pi, si, star, mark) = (0, 0, -1, 0)
    while si < s.count {
      if pi < p.count && (p[pi] == "?" || p[pi] == s[si]) {
        pi += 1
        si += 1
      } else if pi < p.count && p[pi] == "*" {
        star = pi
        mark = si
        pi += 1
      } else if star >= 0 {
        pi = star + 1
        mark += 1
        si = mark
      } else {
        return false
      }
    }
    while pi < p.count && p[pi] == "*" { pi += 1 }
    return pi == p.count
  }
}

extension BaseName: ExpressibleByArgument {}

extension Arithmetic: ExpressibleByArgument {}

/// The `--module` and `--base-name` filters shared by the reading commands.
public struct FilterOptions: ParsableArguments, Sendable {
  @Option(name: .customLong("module"), help: ArgumentHelp("Only modules matching this glob (or re:REGEX); repeatable.", valueName: "pattern"))
  public var modules: [ModulePattern] = []

  @Option(name: .customLong("base-name"), help: ArgumentHelp("Only these base names (weight, input, output, q, k, v); repeatable.", valueName: "base"))
  public var baseNames: [BaseName] = []

  public init() {}

  /// Whether a (module, base name) passes the filters.
  public func includes(_ module: String, _ base: BaseName) -> Bool {
    (modules.isEmpty || modules.contains { $0.matches(module) }) && (baseNames.isEmpty || baseNames.contains(base))
  }
}
