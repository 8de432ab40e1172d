import ArgumentParser

/// `service-registry`: the daemon (`serve`) and its command-line clients.
@main
struct ServiceRegistryCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "service-registry",
        abstract: "Knows every service on this host and whether it is healthy.",
        subcommands: [
            ServeCommand.self, ListCommand.self, RegisterCommand.self, DeregisterCommand.self, ScanCommand.self, CheckCommand.self,
            DiscoverCommand.self,
        ],
        defaultSubcommand: nil
    )
}
