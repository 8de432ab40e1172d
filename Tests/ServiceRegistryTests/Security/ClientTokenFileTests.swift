import Foundation
import Testing

@testable import RegistrySupport

/// SPEC §11 "Installed means protected": the client takes the token from the file install.sh writes.
@Suite(.serialized) struct ClientTokenFileTests {
    @Test func clientReadsTheTokenFromTheSettingsFile() async throws {
        let daemon = try await DaemonProcess.start(arguments: ["--data-dir", TemporaryDirectory().path, "--api-token", "from-file"])
        let directory = TemporaryDirectory("token-file")
        let file = directory.file("service-registry")
        try "# written by install.sh\nSERVICE_REGISTRY_PORT=8000\nSERVICE_REGISTRY_TOKEN='from-file'\n".write(
            toFile: file, atomically: true, encoding: .utf8)
        chmod(file, 0o600)
        let client = ClientCommandTests()
        let env = ["SERVICE_REGISTRY_URL": daemon.baseURL, "SERVICE_REGISTRY_TOKEN": "", "SERVICE_REGISTRY_TOKEN_FILE": file]
        let registered = try await client.run(["register", "--name", "billing", "--url", "http://127.0.0.1:8080"], environment: env)
        #expect(registered.status == 0, "\(registered.stderr)")
        // --token and SERVICE_REGISTRY_TOKEN win over the file.
        let wrong = try await client.run(["register", "--name", "x", "--url", "http://127.0.0.1:8080", "--token", "nope"], environment: env)
        #expect(wrong.status != 0 && wrong.stderr.contains("401"))
        var envWrong = env
        envWrong["SERVICE_REGISTRY_TOKEN"] = "nope"
        #expect(try await client.run(["register", "--name", "x", "--url", "http://127.0.0.1:8080"], environment: envWrong).status != 0)
        // An unreadable or missing file is no token.
        var missing = env
        missing["SERVICE_REGISTRY_TOKEN_FILE"] = directory.file("absent")
        #expect(try await client.run(["register", "--name", "x", "--url", "http://127.0.0.1:8080"], environment: missing).status != 0)
    }

    @Test func tokenFileSyntax() {
        #expect(TokenFile.token(in: "SERVICE_REGISTRY_TOKEN=abc\n") == "abc")
        #expect(TokenFile.token(in: "export SERVICE_REGISTRY_TOKEN=\"a b\"\n") == "a b")
        #expect(TokenFile.token(in: "# SERVICE_REGISTRY_TOKEN=old\nSERVICE_REGISTRY_PORT=1\n") == nil)
        #expect(TokenFile.token(in: "SERVICE_REGISTRY_TOKEN=a\nSERVICE_REGISTRY_TOKEN=b") == "b")
    }
}
