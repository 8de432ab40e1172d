import Foundation
import RegistryModel
import Synchronization

/// Runs `systemctl` for discovery: the configured binary and manager, 5 s deadline per call. Every failure
/// becomes `DiscoveryUnavailable` carrying systemctl's own message.
public final class Systemctl: Sendable {
    public let command: String
    public let scope: SystemdScope
    public let timeout: Double
    package let environment: [String: String]
    /// Whether `list-units --output=json` works here (systemd ≥ 246); learnt on the first call.
    private let jsonSupported = Mutex<Bool?>(nil)
    /// Every systemctl this instance runs; stopped at SIGTERM (`stop()`).
    private let commands = CommandRunner.CommandGroup()
    /// Units per `show` call: one call normally, bounded so the argument list stays far below ARG_MAX.
    static let showBatchSize = 2000

    public init(options: DiscoveryOptions) {
        command = options.systemctlPath
        scope = options.scope
        timeout = options.commandTimeout
        var environment = ProcessInfo.processInfo.environment
        environment.merge(options.environment) { $1 }
        // Plain machine output: no colours, no pager, no width-dependent ellipsis.
        environment["SYSTEMD_COLORS"] = "0"
        environment["SYSTEMD_PAGER"] = ""
        environment["COLUMNS"] = "100000"
        self.environment = environment
    }

    /// Every loaded service unit, including inactive and failed ones.
    public func listUnits() async throws -> [ListedUnit] {
        let base = ["list-units", "--type=service", "--all", "--no-legend", "--no-pager"]
        if jsonSupported.withLock({ $0 }) != false {
            let output = try await run(base + ["--output=json"], what: "list-units", allowFailure: true)
            if output.status == 0, output.stdout.first(where: { !Self.isSpace($0) }) == UInt8(ascii: "[") {
                jsonSupported.withLock { $0 = true }
                return try parsed("list-units") { try SystemctlParser.listUnitsJSON(output.stdout) }
            }
            // Older systemd: "Unknown output 'json'." (or JSON silently ignored). Anything else is a real failure.
            let unsupported = output.status == 0 || output.stderrText.localizedCaseInsensitiveContains("output")
            guard unsupported else { throw failure("list-units", output) }
            jsonSupported.withLock { $0 = false }
        }
        let output = try await run(base + ["--plain"], what: "list-units")
        return SystemctlParser.listUnitsPlain(String(decoding: output.stdout, as: UTF8.self))
    }

    /// Properties of `units`, batched (`show` with no unit would describe the manager itself, so none → none).
    public func show(_ units: [String]) async throws -> [UnitProperties] {
        var properties: [UnitProperties] = []
        var start = 0
        while start < units.count {
            let batch = Array(units[start..<min(start + Self.showBatchSize, units.count)])
            let output = try await run(
                ["show", "--no-pager", "-p", SystemctlParser.showProperties.joined(separator: ","), "--"] + batch,
                what: "show")
            properties += SystemctlParser.show(String(decoding: output.stdout, as: UTF8.self))
            start += batch.count
        }
        return properties
    }

    /// Kills the systemctl calls running now and refuses new ones: the daemon is stopping (SPEC §12: SIGTERM
    /// exits within 10 s whatever hangs, and a scan waiting on a hung systemctl would otherwise hold a request
    /// open until its deadline, one deadline per call of the scan).
    public func stop() { commands.stop() }

    package func run(_ arguments: [String], what: String, allowFailure: Bool = false) async throws -> CommandOutput {
        if commands.isStopped { throw DiscoveryUnavailable("systemctl \(what) not run: the daemon is stopping") }
        guard let executable = CommandRunner.resolve(command, searchPath: environment["PATH"]) else {
            throw DiscoveryUnavailable(
                command.contains("/")
                    ? "systemctl not found: \(command) does not exist or is not executable (set --systemctl)"
                    : "systemctl not found: no \(command) in PATH (set --systemctl)")
        }
        let scopeArguments = scope == .user ? ["--user"] : []
        let output: CommandOutput
        do {
            output = try await CommandRunner.run(
                executable: executable, arguments: scopeArguments + arguments,
                environment: environment, timeout: timeout, group: commands)
        } catch {
            if commands.isStopped { throw DiscoveryUnavailable("systemctl \(what) not run: the daemon is stopping") }
            throw DiscoveryUnavailable("cannot run \(executable): \(error)")
        }
        if output.timedOut && commands.isStopped {
            throw DiscoveryUnavailable("systemctl \(what) stopped: the daemon is stopping")
        }
        if output.timedOut {
            throw DiscoveryUnavailable("systemctl \(what) timed out after \(Self.seconds(timeout)) s")
        }
        if output.status != 0 && !allowFailure { throw failure(what, output) }
        return output
    }

    private func failure(_ what: String, _ output: CommandOutput) -> DiscoveryUnavailable {
        // systemctl's own words, on one line (logs are one line per event).
        var message = output.stderrText.split(whereSeparator: \.isNewline).map { $0.trimmingCharacters(in: .whitespaces) }
            .filter { !$0.isEmpty }.joined(separator: " ")
        if message.isEmpty { message = "no message" }
        if message.count > 500 { message = String(message.prefix(500)) + "…" }
        return DiscoveryUnavailable("systemctl \(what) failed (exit status \(output.status)): \(message)")
    }

    private func parsed<T>(_ what: String, _ parse: () throws -> T) throws -> T {
        do { return try parse() } catch { throw DiscoveryUnavailable("systemctl \(what): \(error)") }
    }

    private static func isSpace(_ byte: UInt8) -> Bool { byte == 0x20 || byte == 0x0A || byte == 0x09 || byte == 0x0D }

    package static func seconds(_ value: Double) -> String {
        value == value.rounded() ? String(Int(value)) : String(value)
    }
}
