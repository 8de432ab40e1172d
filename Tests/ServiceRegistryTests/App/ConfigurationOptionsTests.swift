import Foundation
import NIOCore
import Testing

@testable import RegistryApp
@testable import RegistryHTTP

/// The option table (`ConfigurationOptions`) is the one place for each option: `serve --help`, `discover --help`,
/// `RegistryConfiguration`'s defaults and the resolution rules all come from it.
@Suite struct ConfigurationOptionsTests {
    typealias O = ConfigurationOptions

    /// `--help` with its line wrapping undone: option name, then its help text.
    static func help(_ arguments: [String]) throws -> String {
        try rawHelp(arguments).split(whereSeparator: \.isWhitespace).joined(separator: " ")
    }

    static func rawHelp(_ arguments: [String]) throws -> String {
        let run = try ClientCommandTests.runBlocking(arguments + ["--help"], environment: [:])
        #expect(run.status == 0)
        return run.stdout
    }

    @Test func serveHelpShowsEveryOptionOfTheTableWithItsHelp() throws {
        let text = try Self.help(["serve"])
        // The options section: each option's line starts with two spaces and its flag.
        let flags = Set(
            try Self.rawHelp(["serve"]).split(separator: "\n").filter { $0.hasPrefix("  --") }
                .map { String($0.dropFirst(4).prefix { $0 != " " }) })
        #expect(flags == Set(O.serve.map(\.name)))
        for (option, help) in [
            (O.host.name, O.host.help), (O.port.name, O.port.help), (O.probeInterval.name, O.probeInterval.help),
            (O.probeTimeout.name, O.probeTimeout.help), (O.probeRise.name, O.probeRise.help),
            (O.scanInterval.name, O.scanInterval.help), (O.portRange.name, O.portRange.help),
            (O.headerTimeout.name, O.headerTimeout.help), (O.metricsDetail.name, O.metricsDetail.help),
        ] {
            #expect(text.contains("--\(option) <\(option)> \(help)"), "\(option)")
        }
        #expect(
            O.port.help == "Listen port (default 8000)." && O.probeTimeout.help.hasSuffix("(default 2.0).")
                && O.probeInterval.help.hasPrefix("Seconds between probes of each service (default 60);"))
    }

    @Test func discoverSharesTheDiscoveryOptions() throws {
        let text = try Self.help(["discover"])
        for help in [O.systemctl.help, O.systemdScope.help, O.portRange.help, O.includeUnit.help, O.excludeUnit.help] {
            #expect(text.contains(help), "\(help)")
        }
    }

    /// Every option's environment variable is its flag name in capitals (`--api-token` also reads the old spelling).
    @Test func environmentVariablesFollowTheFlagNames() {
        for option in O.serve {
            #expect(option.environment.first == "SERVICE_REGISTRY_" + option.name.uppercased().replacingOccurrences(of: "-", with: "_"))
        }
        #expect(O.apiToken.environment == ["SERVICE_REGISTRY_API_TOKEN", "SERVICE_REGISTRY_TOKEN"])
    }

    @Test func registryConfigurationDefaultsAreTheTables() {
        let c = RegistryConfiguration()
        #expect(c.host == "0.0.0.0" && c.port == 8000 && c.dataDirectory == "./data" && c.logLevel == .info)
        #expect(c.mapSizeBytes == 1024 << 20 && c.probeInterval == 60 && c.probeTimeout == 2 && c.probeConcurrency == 1000)
        #expect(c.probeRise == 1 && c.probeFall == 1 && c.scanInterval == 30 && c.systemctlPath == "systemctl")
        #expect(c.systemdScope == .system && c.portRange == .defaultWeb && c.metricsDetail == .full)
        // The connection limits' own defaults (HTTP layer) agree with the table.
        #expect(c.connections == ConnectionLimits())
        #expect(c.connections.headerTimeout == .seconds(10) && c.connections.idleTimeout == .seconds(60) && c.connections.maxConnections == 10_000)
    }

    @Test func aFlagWinsOverTheEnvironmentWhichWinsOverTheDefault() throws {
        #expect(try O.port.resolve(flag: nil, environment: [:]) == 8000)
        #expect(try O.port.resolve(flag: nil, environment: ["SERVICE_REGISTRY_PORT": "9000"]) == 9000)
        #expect(try O.port.resolve(flag: 9001, environment: ["SERVICE_REGISTRY_PORT": "9000"]) == 9001)
        #expect(try O.port.resolve(flag: nil, environment: ["SERVICE_REGISTRY_PORT": ""]) == 8000, "empty counts as unset")
        #expect(try O.apiToken.resolve(text: nil, environment: ["SERVICE_REGISTRY_TOKEN": "old"]) == "old")
        #expect(try O.apiToken.resolve(text: nil, environment: ["SERVICE_REGISTRY_TOKEN": "old", "SERVICE_REGISTRY_API_TOKEN": "new"]) == "new")
        #expect(try O.systemdScope.resolve(text: nil, environment: ["SERVICE_REGISTRY_SYSTEMD_SCOPE": "user"]) == .user)
        #expect(try O.allowedHost.resolve(flag: nil, environment: ["SERVICE_REGISTRY_ALLOWED_HOST": "a, b"]) == ["a", "b"])
    }

    @Test func valuesOutOfBoundsAreRefusedNamingTheFlag() {
        func message(_ body: () throws -> Void) -> String? {
            do {
                try body()
                return nil
            } catch { return (error as? ConfigurationError)?.message ?? "not a ConfigurationError: \(error)" }
        }
        #expect(message { _ = try O.port.resolve(flag: 70000, environment: [:]) } == "--port 70000: must be between 0 and 65535")
        #expect(
            message { _ = try O.port.resolve(flag: nil, environment: ["SERVICE_REGISTRY_PORT": "x"]) } == "SERVICE_REGISTRY_PORT=x is not a number")
        #expect(
            message { _ = try O.probeInterval.resolve(flag: 0.5, environment: [:]) }
                == "--probe-interval 0.5: must be 0 (background probing off) or between 1 and 86400 seconds")
        #expect(message { _ = try O.probeInterval.resolve(flag: 0, environment: [:]) } == nil)
        #expect(
            message { _ = try O.probeTimeout.resolve(flag: 60.5, environment: [:]) } == "--probe-timeout 60.5: must be between 0.1 and 60 seconds")
        #expect(message { _ = try O.probeRise.resolve(flag: 11, environment: [:]) } == "--probe-rise 11: must be between 1 and 10")
        #expect(message { _ = try O.metricsDetail.resolve(text: "some", environment: [:]) } == "--metrics-detail some: must be full or basic")
        #expect(
            message { _ = try O.logLevel.resolve(text: nil, environment: ["SERVICE_REGISTRY_LOG_LEVEL": "loud"]) }
                == "--log-level loud: must be one of trace, debug, info, notice, warning, error, critical")
    }

    /// A busy port is told by errno, whatever the message says.
    @Test func addressInUseIsToldByErrno() {
        struct Text: Error, CustomStringConvertible { var description: String { "bind(descriptor:ptr:bytes:): Address already in use (errno: 98)" } }
        #expect(isAddressInUse(IOError(errnoCode: EADDRINUSE, reason: "bind(descriptor:ptr:bytes:)")))
        #expect(!isAddressInUse(IOError(errnoCode: EACCES, reason: "bind(descriptor:ptr:bytes:)")))
        #expect(!isAddressInUse(Text()))
    }
}
