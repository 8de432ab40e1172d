import Foundation
import RegistryHTTP
import RegistrySupport
import Testing

/// `service-registry list|register|deregister|scan|check` against a running daemon (SPEC §7).
/// Processes are started and waited for off the cooperative pool (`blocking`), so registries served in this
/// process by other tests keep their threads.
@Suite(.serialized) struct ClientCommandTests {
    struct Run {
        let status: Int32
        let stdout: String
        let stderr: String
    }

    func run(_ arguments: [String], environment: [String: String] = [:]) async throws -> Run {
        try await blocking { try Self.runBlocking(arguments, environment: environment) }
    }

    static func runBlocking(_ arguments: [String], environment: [String: String]) throws -> Run {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: TestPaths.executable)
        process.arguments = arguments
        process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
        let out = Pipe()
        let err = Pipe()
        process.standardOutput = out
        process.standardError = err
        try process.run()
        // Both pipes at once: a full stderr pipe must not block the command while stdout is read.
        let errors = ExpositionSamples.Box()
        let errorRead = DispatchGroup()
        BlockingWork.queue.async(group: errorRead) { errors.data = err.fileHandleForReading.readDataToEndOfFile() }
        let stdout = out.fileHandleForReading.readDataToEndOfFile()
        errorRead.wait()
        process.waitUntilExit()
        return Run(
            status: process.terminationStatus, stdout: String(decoding: stdout, as: UTF8.self),
            stderr: String(decoding: errors.data, as: UTF8.self))
    }

    @Test func registerListDeregister() async throws {
        let daemon = try await DaemonProcess.start(arguments: ["--data-dir", TemporaryDirectory().path, "--api-token", "t"])
        let env = ["SERVICE_REGISTRY_URL": daemon.baseURL, "SERVICE_REGISTRY_TOKEN": "t"]
        let registered = try await run(
            ["register", "--name", "billing", "--url", "http://127.0.0.1:8080", "--port", "8080", "--label", "team=pay"], environment: env)
        #expect(registered.status == 0, "\(registered.stderr)")
        #expect(registered.stdout.contains("id 1"))
        let listed = try await run(["list"], environment: env)
        #expect(listed.stdout.contains("billing") && listed.stdout.contains("8080"))
        let json = try await run(["list", "--json", "--registry", daemon.baseURL])
        #expect(json.stdout.contains(#""labels":{"team":"pay"}"#))
        #expect(try await run(["deregister", "billing"], environment: env).status == 0)
        #expect(try await run(["list", "--json"], environment: env).stdout.trimmingCharacters(in: .whitespacesAndNewlines) == "[]")
    }

    @Test func errorsGoToStderrWithNonZeroExit() async throws {
        let daemon = try await DaemonProcess.start(arguments: ["--data-dir", TemporaryDirectory().path, "--api-token", "t"])
        let unauthorized = try await run(["register", "--registry", daemon.baseURL, "--name", "a", "--url", "http://127.0.0.1:9"])
        #expect(unauthorized.status == 1)
        #expect(unauthorized.stderr.contains("HTTP 401"))
        let invalid = try await run(["register", "--registry", daemon.baseURL, "--token", "t", "--name", "a", "--url", "ftp://h"])
        #expect(invalid.status == 1)
        #expect(invalid.stderr.contains("url:"))
        let unreachable = try await run(["list", "--registry", "http://127.0.0.1:\(DaemonProcess.freePort())"])
        #expect(unreachable.status == 1)
        #expect(unreachable.stderr.contains("cannot reach the registry"))
        let unknown = try await run(["deregister", "nope", "--registry", daemon.baseURL, "--token", "t"])
        #expect(unknown.status == 1 && unknown.stderr.contains("no service named"))
        let usage = try await run(["list", "--bogus"])
        #expect(usage.status == 64, "\(usage.stderr)")
    }

    /// `check` exits 3 when the probed service is not healthy, 0 when it is (the README and `--help` say so).
    @Test func checkExitsThreeWhenTheServiceIsNotHealthy() async throws {
        let daemon = try await DaemonProcess.start(arguments: [
            "--data-dir", TemporaryDirectory().path, "--scan-interval", "0",
            "--probe-interval", "0",
        ])
        let env = ["SERVICE_REGISTRY_URL": daemon.baseURL]
        // The registry's own /health is a healthy target; a closed port is not.
        #expect(try await run(["register", "--name", "self", "--url", "\(daemon.baseURL)/health"], environment: env).status == 0)
        #expect(
            try await run(["register", "--name", "closed", "--url", "http://127.0.0.1:\(DaemonProcess.freePort())/"], environment: env).status == 0)
        let healthy = try await run(["check", "self"], environment: env)
        #expect(healthy.status == 0, "\(healthy.stdout)\(healthy.stderr)")
        let unhealthy = try await run(["check", "closed"], environment: env)
        #expect(unhealthy.status == 3, "\(unhealthy.stdout)\(unhealthy.stderr)")
        #expect(unhealthy.stdout.contains("closed: unhealthy"))
    }

    /// Every client subcommand documents its exit codes in `--help`; `check` adds its 3.
    @Test func helpDocumentsEveryExitCode() async throws {
        for command in ["list", "register", "deregister", "scan", "check"] {
            let help = try await run([command, "--help"])
            #expect(help.status == 0, "\(command): \(help.stderr)")
            let text = help.stdout
            #expect(text.contains("EXIT STATUS:"), "\(command) --help:\n\(text)")
            for line in ["\n0   success\n", "\n1   the registry answered an error", "\n64  bad command line"] {
                #expect(text.contains(line), "\(command) --help lacks \(line.debugDescription):\n\(text)")
            }
            #expect(text.contains("\n3   the probe ran and the service is not healthy") == (command == "check"), "\(command) --help:\n\(text)")
        }
    }
}
