import CalibCLI
import CalibCore
import Foundation

@main
enum Entrypoint {
  static func main() async {
    HeapReuse.configure()
    exit(await CalibCommand.execute(Array(CommandLine.arguments.dropFirst())))
  }
}
