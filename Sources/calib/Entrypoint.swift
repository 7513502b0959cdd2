import CalibCLI
import CalibCore

@main
enum Entrypoint {
  static func main() async {
    HeapReuse.configure()
    await CalibCommand.main()
  }
}
