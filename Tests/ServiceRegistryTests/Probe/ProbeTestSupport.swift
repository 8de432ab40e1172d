import Foundation
import Hummingbird
import HummingbirdTesting
import Testing

@testable import RegistryApp
@testable import RegistryModel
@testable import RegistryProbe

/// The Python probe target (Fixtures/probe/target_server.py) on 127.0.0.1, HTTP or HTTPS; killed when released.
final class ProbeTargetServer: @unchecked Sendable {
    let process = Process()
    let port: Int
    let scheme: String
    var base: String { "\(scheme)://127.0.0.1:\(port)" }
    /// Where the tests ask for hit counts (over plain HTTP needs no trust; HTTPS uses -k through curl).
    private let insecure: Bool

    init(certificate: String? = nil, key: String? = nil) throws {
        process.executableURL = URL(fileURLWithPath: "/usr/bin/python3")
        process.arguments = [TestPaths.fixture("probe/target_server.py")] + (certificate.map { [$0, key!] } ?? [])
        let output = Pipe()
        process.standardOutput = output
        process.standardError = FileHandle.nullDevice
        guard FileManager.default.isExecutableFile(atPath: "/usr/bin/python3") else {
            throw DaemonError("python3 is required for the probe target server (apt-get install python3)")
        }
        try process.run()
        var line = Data()
        while !line.contains(UInt8(ascii: "\n")) {
            let chunk = output.fileHandleForReading.availableData
            if chunk.isEmpty { throw DaemonError("probe target server exited before listening") }
            line.append(chunk)
        }
        guard let port = Int(String(decoding: line, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)) else {
            throw DaemonError("probe target server printed no port")
        }
        self.port = port
        scheme = certificate == nil ? "http" : "https"
        insecure = certificate != nil
    }

    func url(_ path: String) -> String { base + path }

    /// Requests seen whose path starts with `prefix`: count, arrival times (server's monotonic clock) and its now.
    func hits(_ prefix: String) throws -> (count: Int, times: [Double], now: Double) {
        let reply = try HTTP.request("GET", "\(base)/_hits?prefix=\(prefix)", headers: [:])
        guard case .object(let o)? = reply.json, case .number(let count)? = o["count"], case .array(let times)? = o["times"],
            case .number(let now)? = o["now"]
        else { throw DaemonError("bad /_hits reply: \(reply.body)") }
        return (Int(count), times.compactMap { if case .number(let n) = $0 { n } else { nil } }, now)
    }

    /// `hits` in async code, off the cooperative pool (preferred by Swift wherever `await` is possible).
    func hits(_ prefix: String) async throws -> (count: Int, times: [Double], now: Double) {
        try await blocking { try self.hits(prefix) }
    }

    func setDynamicCode(_ code: Int) throws {
        _ = try HTTP.request("GET", "\(base)/control?code=\(code)")
    }

    deinit {
        // SIGKILL: a child spawned from a test thread may inherit a mask that blocks SIGTERM.
        if process.isRunning {
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
        }
    }
}

/// A test CA, a leaf it signed for 127.0.0.1, and a self-signed certificate, made with `openssl`.
struct TestCertificates {
    let directory: TemporaryDirectory
    var caFile: String { directory.file("ca.pem") }
    var leafCert: String { directory.file("leaf.pem") }
    var leafKey: String { directory.file("leaf.key") }
    var selfSignedCert: String { directory.file("self.pem") }
    var selfSignedKey: String { directory.file("self.key") }

    init() throws {
        directory = TemporaryDirectory("probe-certs")
        let d = directory.path
        let ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]
        try Self.openssl(
            ["req", "-x509"] + ec + ["-keyout", "\(d)/ca.key", "-out", "\(d)/ca.pem", "-days", "30", "-subj", "/CN=service-registry test CA"])
        try Self.openssl(["req"] + ec + ["-keyout", "\(d)/leaf.key", "-out", "\(d)/leaf.csr", "-subj", "/CN=127.0.0.1"])
        try "subjectAltName=IP:127.0.0.1,DNS:localhost\n".write(toFile: "\(d)/leaf.ext", atomically: true, encoding: .utf8)
        try Self.openssl([
            "x509", "-req", "-in", "\(d)/leaf.csr", "-CA", "\(d)/ca.pem", "-CAkey", "\(d)/ca.key", "-CAcreateserial",
            "-out", "\(d)/leaf.pem", "-days", "20", "-extfile", "\(d)/leaf.ext",
        ])
        try Self.openssl(
            ["req", "-x509"] + ec + [
                "-keyout", "\(d)/self.key", "-out", "\(d)/self.pem", "-days", "10",
                "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1",
            ])
    }

    /// The certificate's notAfter, as openssl prints it.
    func notAfter(_ file: String) throws -> Date {
        let text = try Self.openssl(["x509", "-enddate", "-noout", "-in", file])
        guard let date = CurlOutcome.parseCertificateDate(String(text.trimmingCharacters(in: .whitespacesAndNewlines).dropFirst("notAfter=".count)))
        else {
            throw DaemonError("cannot parse openssl enddate: \(text)")
        }
        return date
    }

    @discardableResult
    static func openssl(_ arguments: [String]) throws -> String {
        guard FileManager.default.isExecutableFile(atPath: "/usr/bin/openssl") else {
            throw DaemonError("openssl is required for the TLS probe tests (apt-get install openssl)")
        }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/openssl")
        process.arguments = arguments
        let output = Pipe()
        process.standardOutput = output
        process.standardError = output
        try process.run()
        let data = output.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        let text = String(decoding: data, as: UTF8.self)
        guard process.terminationStatus == 0 else { throw DaemonError("openssl \(arguments.joined(separator: " ")) failed: \(text)") }
        return text
    }
}

/// A registry on a real socket with the real prober (`buildComponents`), as the daemon wires it.
func withProbingRegistry<T: Sendable>(
    configure: @escaping (inout RegistryConfiguration) -> Void = { _ in },
    _ body: @escaping @Sendable (any TestClientProtocol, RegistryComponents) async throws -> T
) async throws -> T {
    try await withLiveRegistry(configure: configure, components: { try buildComponents($0, logger: testLogger) }, body)
}

/// Polls `condition` until it holds or `timeout` passes; returns whether it held.
func eventually(timeout: Double, every interval: Double = 0.05, _ condition: () async throws -> Bool) async rethrows -> Bool {
    let deadline = Date().addingTimeInterval(timeout)
    while Date() < deadline {
        if try await condition() { return true }
        try? await Task.sleep(for: .seconds(interval))
    }
    return try await condition()
}

extension JSONValue {
    var number: Double? { if case .number(let n) = self { n } else { nil } }
    var isNull: Bool { if case .null = self { true } else { false } }
}

func serviceJSON(_ name: String, url: String, extra: String = "") -> String {
    #"{"name":"\#(name)","url":"\#(url)"\#(extra.isEmpty ? "" : "," + extra)}"#
}

/// Resident set size of a process, from /proc/PID/status (kB).
func residentKB(pid: Int32) throws -> Int {
    let handle = try FileHandle(forReadingFrom: URL(fileURLWithPath: "/proc/\(pid)/status"))
    defer { try? handle.close() }
    let text = String(decoding: try handle.readToEnd() ?? Data(), as: UTF8.self)
    guard let line = text.split(separator: "\n").first(where: { $0.hasPrefix("VmRSS:") }),
        let kb = Int(line.split(separator: " ", omittingEmptySubsequences: true).dropFirst().first ?? "")
    else {
        throw DaemonError("no VmRSS for pid \(pid)")
    }
    return kb
}
