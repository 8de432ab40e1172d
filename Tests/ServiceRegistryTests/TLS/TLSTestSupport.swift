import Foundation

@testable import RegistryModel

/// Certificates made by the `openssl` command line in a temporary directory: a CA with a server certificate for
/// 127.0.0.1/localhost (serial 1001) and its replacement (serial 1002, for rotation), a client CA with a client
/// certificate, and a second, unrelated CA with a client certificate the registry must refuse.
final class TestPKI: @unchecked Sendable {
    let directory = TemporaryDirectory("tls-pki")
    func path(_ name: String) -> String { directory.file(name) }

    var caFile: String { path("ca.crt") }
    var serverCert: String { path("server.crt") }
    var serverKey: String { path("server.key") }
    var rotatedCert: String { path("rotated.crt") }
    var rotatedKey: String { path("rotated.key") }
    var clientCAFile: String { path("clients-ca.crt") }
    var clientCert: String { path("client.crt") }
    var clientKey: String { path("client.key") }
    var strangerCert: String { path("stranger.crt") }
    var strangerKey: String { path("stranger.key") }

    init() throws {
        try makeCA("ca", subject: "/CN=service-registry test CA")
        try makeCA("clients-ca", subject: "/CN=service-registry test client CA")
        try makeCA("other-ca", subject: "/CN=someone else's CA")
        let server = "subjectAltName=IP:127.0.0.1,IP:::1,DNS:localhost\nextendedKeyUsage=serverAuth\nbasicConstraints=CA:FALSE\n"
        let client = "extendedKeyUsage=clientAuth\nbasicConstraints=CA:FALSE\n"
        try makeLeaf("server", ca: "ca", serial: "0x1001", subject: "/CN=localhost", extensions: server)
        try makeLeaf("rotated", ca: "ca", serial: "0x1002", subject: "/CN=localhost", extensions: server)
        try makeLeaf("client", ca: "clients-ca", serial: "0x2001", subject: "/CN=prometheus", extensions: client)
        try makeLeaf("stranger", ca: "other-ca", serial: "0x3001", subject: "/CN=stranger", extensions: client)
    }

    private func makeCA(_ name: String, subject: String) throws {
        try Self.openssl([
            "req", "-x509", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
            "-keyout", path("\(name).key"), "-out", path("\(name).crt"), "-days", "3", "-subj", subject,
        ])
    }

    private func makeLeaf(_ name: String, ca: String, serial: String, subject: String, extensions: String) throws {
        try extensions.write(toFile: path("\(name).ext"), atomically: true, encoding: .utf8)
        try Self.openssl([
            "req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
            "-keyout", path("\(name).key"), "-out", path("\(name).csr"), "-subj", subject,
        ])
        try Self.openssl([
            "x509", "-req", "-in", path("\(name).csr"), "-CA", path("\(ca).crt"), "-CAkey", path("\(ca).key"),
            "-set_serial", serial, "-days", "2", "-out", path("\(name).crt"), "-extfile", path("\(name).ext"),
        ])
    }

    @discardableResult
    static func openssl(_ arguments: [String], input: Data? = nil) throws -> String {
        let result = try runTool("/usr/bin/openssl", arguments, input: input)
        guard result.status == 0 else { throw DaemonError("openssl \(arguments.joined(separator: " ")) failed: \(result.stderr)") }
        return result.stdout
    }

    /// The serial number (hex, as `openssl x509 -serial` prints it) of the certificate served at 127.0.0.1:`port`.
    static func servedSerial(port: Int) throws -> String? {
        let handshake = try runTool(
            "/usr/bin/timeout",
            [
                "10", "/usr/bin/openssl", "s_client", "-connect", "127.0.0.1:\(port)",
                "-servername", "localhost",
            ], input: Data())
        guard handshake.stdout.contains("BEGIN CERTIFICATE") else { return nil }
        let serial = try openssl(["x509", "-noout", "-serial"], input: Data(handshake.stdout.utf8))
        return serial.trimmingCharacters(in: .whitespacesAndNewlines).replacingOccurrences(of: "serial=", with: "")
    }
}

struct ToolResult {
    let status: Int32
    let stdout: String
    let stderr: String
}

/// Runs a program to its end; stdout and stderr go through files (no pipe to fill).
func runTool(_ executable: String, _ arguments: [String], input: Data? = nil, environment: [String: String] = [:]) throws -> ToolResult {
    let directory = TemporaryDirectory("tool")
    let process = Process()
    process.executableURL = URL(fileURLWithPath: executable)
    process.arguments = arguments
    process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
    _ = FileManager.default.createFile(atPath: directory.file("out"), contents: nil)
    _ = FileManager.default.createFile(atPath: directory.file("err"), contents: nil)
    process.standardOutput = try FileHandle(forWritingTo: URL(fileURLWithPath: directory.file("out")))
    process.standardError = try FileHandle(forWritingTo: URL(fileURLWithPath: directory.file("err")))
    let stdin = Pipe()
    process.standardInput = input == nil ? FileHandle.nullDevice : stdin
    try process.run()
    if let input {
        stdin.fileHandleForWriting.write(input)
        try stdin.fileHandleForWriting.close()
    }
    process.waitUntilExit()
    let out = (try? String(contentsOfFile: directory.file("out"), encoding: .utf8)) ?? ""
    let err = (try? String(contentsOfFile: directory.file("err"), encoding: .utf8)) ?? ""
    return ToolResult(status: process.terminationStatus, stdout: out, stderr: err)
}

/// curl with `arguments`; the HTTP status is the output's last line (`-w`), 0 when no response came.
func curl(_ arguments: [String], timeout: Double = 10) throws -> (exit: Int32, status: Int, body: String, stderr: String) {
    let result = try runTool("/usr/bin/curl", ["-sS", "--max-time", "\(timeout)", "-w", "\n%{http_code}"] + arguments)
    let text = result.stdout
    let newline = text.lastIndex(of: "\n")
    let status = newline.flatMap { Int(text[text.index(after: $0)...]) } ?? 0
    let body = newline.map { String(text[..<$0]) } ?? text
    return (result.status, status, body, result.stderr)
}

extension DaemonProcess {
    var httpsURL: String { "https://127.0.0.1:\(port)" }

    /// Waits until `/ready` answers over https (trusting `caFile`, presenting the client certificate if given).
    func waitUntilReadyOverTLS(caFile: String, clientCert: (String, String)? = nil, timeout: TimeInterval = 30) throws {
        let deadline = Date().addingTimeInterval(timeout)
        var tlsArguments = ["--cacert", caFile]
        if let (cert, key) = clientCert { tlsArguments += ["--cert", cert, "--key", key] }
        while Date() < deadline {
            if !process.isRunning { throw DaemonError("daemon exited with status \(process.terminationStatus): \(readOutput())") }
            if (try? curl(tlsArguments + ["\(httpsURL)/ready"], timeout: 5))?.status == 200 { return }
            Thread.sleep(forTimeInterval: 0.1)
        }
        throw DaemonError("daemon not ready over https after \(timeout)s: \(readOutput())")
    }
}
