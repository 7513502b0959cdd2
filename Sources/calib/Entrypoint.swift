import CalibCLI

@main
enum Entrypoint {
  static func main() async {
    await CalibCommand.main()
  }
}
