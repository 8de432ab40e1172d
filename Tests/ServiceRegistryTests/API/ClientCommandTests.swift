import Foundation
import Testing

/// `service-registry list|register|deregister` against a running daemon (SPEC §7).
@Suite(.serialized) struct ClientCommandTests {
    struct Run { let status: Int32; let stdout: String; let stderr: String }

    func run(_ arguments: [String], environment: [String: String] = [:]) throws -> Run {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: TestPaths.executable)
        process.arguments = arguments
        process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
        let out = Pipe(), err = Pipe()
        process.standardOutput = out
        process.standardError = err
        try process.run()
        let stdout = out.fileHandleForReading.readDataToEndOfFile()
        let stderr = err.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return Run(status: process.terminationStatus, stdout: String(decoding: stdout, as: UTF8.self), stderr: String(decoding: stderr, as: UTF8.self))
    }

    @Test func registerListDeregister() throws {
        let daemon = try DaemonProcess(arguments: ["--data-dir", TemporaryDirectory().path, "--api-token", "t"])
        let env = ["SERVICE_REGISTRY_URL": daemon.baseURL, "SERVICE_REGISTRY_TOKEN": "t"]
        let registered = try run(["register", "--name", "billing", "--url", "http://127.0.0.1:8080", "--port", "8080", "--label", "team=pay"], environment: env)
        #expect(registered.status == 0, "\(registered.stderr)")
        #expect(registered.stdout.contains("id 1"))
        let listed = try run(["list"], environment: env)
        #expect(listed.stdout.contains("billing") && listed.stdout.contains("8080"))
        let json = try run(["list", "--json", "--registry", daemon.baseURL])
        #expect(json.stdout.contains(#""labels":{"team":"pay"}"#))
        #expect(try run(["deregister", "billing"], environment: env).status == 0)
        #expect(try run(["list", "--json"], environment: env).stdout.trimmingCharacters(in: .whitespacesAndNewlines) == "[]")
    }

    @Test func errorsGoToStderrWithNonZeroExit() throws {
        let daemon = try DaemonProcess(arguments: ["--data-dir", TemporaryDirectory().path, "--api-token", "t"])
        let unauthorized = try run(["register", "--registry", daemon.baseURL, "--name", "a", "--url", "http://127.0.0.1:9"])
        #expect(unauthorized.status != 0)
        #expect(unauthorized.stderr.contains("HTTP 401"))
        let invalid = try run(["register", "--registry", daemon.baseURL, "--token", "t", "--name", "a", "--url", "ftp://h"])
        #expect(invalid.status != 0)
        #expect(invalid.stderr.contains("url:"))
        let unreachable = try run(["list", "--registry", "http://127.0.0.1:\(DaemonProcess.freePort())"])
        #expect(unreachable.status != 0)
        #expect(unreachable.stderr.contains("cannot reach the registry"))
        #expect(try run(["deregister", "nope", "--registry", daemon.baseURL, "--token", "t"]).stderr.contains("no service named"))
    }
}
