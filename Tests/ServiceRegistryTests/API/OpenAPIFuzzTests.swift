import Foundation
import Testing

/// schemathesis (PyPI) generates requests from `/openapi.json` — valid ones that must be accepted, invalid
/// ones that must be rejected, unauthenticated writes that must get 401 — and checks every answer against
/// the document. This is what "a schema-based fuzzer works against it" means.
@Suite(.serialized) struct OpenAPIFuzzTests {
    static let schemathesis = executableOnPath("schemathesis")

    @Test func schemathesisFindsNoFailures() async throws {
        let tool = try #require(Self.schemathesis, "schemathesis is not installed: pip install schemathesis (scripts/test.sh does)")
        let data = TemporaryDirectory()
        // The fuzzer registers services with arbitrary URLs (`https://0.com`): nothing may probe them, since
        // tests talk to loopback only. Background probing is off and the check route (which probes) is excluded.
        let daemon = try await DaemonProcess.start(arguments: [
            "--data-dir", data.path, "--api-token", "fuzz-token",
            "--scan-interval", "0", "--probe-interval", "0",
        ])
        let process = Process()
        process.executableURL = URL(fileURLWithPath: tool)
        // schemathesis keeps a cache in its working directory: keep it out of the repository.
        process.currentDirectoryURL = URL(fileURLWithPath: data.path)
        // /api/scan and /scan answer 503 where systemd is not reachable, which the "server error" check would flag.
        process.arguments = [
            "run", "\(daemon.baseURL)/openapi.json", "--checks", "all", "--max-examples", "25",
            "--seed", "42", "-H", "Authorization: Bearer fuzz-token", "--exclude-path", "/api/scan",
            "--exclude-path", "/scan", "--exclude-path", "/api/services/{id}/check",
            // A stream does not end; EventStreamDaemonTests and ChangeStreamTests cover it.
            "--exclude-path", "/api/events",
        ]
        var environment = ProcessInfo.processInfo.environment
        environment["NO_COLOR"] = "1"
        environment["SCHEMATHESIS_HOOKS"] = nil
        process.environment = environment
        let log = data.file("schemathesis.log")
        FileManager.default.createFile(atPath: log, contents: nil)
        let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: log))
        process.standardOutput = handle
        process.standardError = handle
        try process.run()
        // The run takes a while: wait off the cooperative pool, which the other suites of this process share.
        try await blocking { process.waitUntilExit() }
        let output = (try? String(contentsOfFile: log, encoding: .utf8)) ?? ""
        #expect(process.terminationStatus == 0, "schemathesis failed:\n\(output.suffix(4000))")
        #expect(output.contains("passed"), "\(output.suffix(2000))")
        // The daemon survived the fuzzing.
        #expect(try await HTTP.send("GET", "\(daemon.baseURL)/health").status == 200)
    }
}
