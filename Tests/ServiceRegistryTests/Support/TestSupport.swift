import Foundation
import Hummingbird
import HummingbirdTesting
import Logging
import RegistryApp
import RegistryModel
import RegistryProbe
import RegistryStore
import RegistrySupport

#if canImport(FoundationNetworking)
    import FoundationNetworking
#endif

/// A directory removed when the value is released.
final class TemporaryDirectory: @unchecked Sendable {
    let path: String

    init(_ prefix: String = "service-registry-test") {
        path = NSTemporaryDirectory() + "\(prefix)-\(UUID().uuidString.prefix(8))"
        try! FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    }

    func file(_ name: String) -> String { (path as NSString).appendingPathComponent(name) }

    deinit { try? FileManager.default.removeItem(atPath: path) }
}

enum TestPaths {
    /// The package root (for fixtures in the source tree and the repo's dashboards/alerts).
    static let packageRoot: URL = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    static func fixture(_ relative: String) -> String {
        packageRoot.appendingPathComponent("Tests/ServiceRegistryTests/Fixtures").appendingPathComponent(relative).path
    }

    /// The `service-registry` executable built beside this test binary.
    static var executable: String {
        let exe = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
        return URL(fileURLWithPath: exe).deletingLastPathComponent().appendingPathComponent("service-registry").path
    }
}

let testLogger: Logger = {
    var logger = Logger(label: "test")
    logger.logLevel = .warning
    return logger
}()

/// A registry served in-process by Hummingbird's router test client (no socket).
func withRegistry<T: Sendable>(
    configure: (inout RegistryConfiguration) -> Void = { _ in },
    directory: TemporaryDirectory = TemporaryDirectory(),
    _ body: @escaping @Sendable (any TestClientProtocol, RegistryComponents) async throws -> T
) async throws -> T {
    var configuration = RegistryConfiguration()
    configuration.dataDirectory = directory.path
    configuration.host = "127.0.0.1"
    configuration.port = 0
    configure(&configuration)
    let components = RegistryComponents(store: try ServiceStore(directory: configuration.dataDirectory, mapSizeBytes: configuration.mapSizeBytes))
    let app = buildApplication(configuration, components: components, logger: testLogger)
    return try await app.test(.router) { client in try await body(client, components) }
}

/// The same, over a real socket on 127.0.0.1 (for tools that need a port).
func withLiveRegistry<T: Sendable>(
    configure: (inout RegistryConfiguration) -> Void = { _ in },
    components makeComponents: ((RegistryConfiguration) throws -> RegistryComponents)? = nil,
    directory: TemporaryDirectory = TemporaryDirectory(),
    _ body: @escaping @Sendable (any TestClientProtocol, RegistryComponents) async throws -> T
) async throws -> T {
    var configuration = RegistryConfiguration()
    configuration.dataDirectory = directory.path
    configuration.host = "127.0.0.1"
    configuration.port = 0
    // In-process clients run on the cooperative pool, which the suite's blocking daemon tests can hold for tens of
    // seconds on 2 cores: the production header and idle timeouts would close their connections meanwhile.
    // ConnectionGuardTests checks the timeouts against the daemon.
    configuration.connections.headerTimeout = .seconds(600)
    configuration.connections.idleTimeout = .seconds(600)
    configure(&configuration)
    let components =
        try makeComponents?(configuration)
        ?? RegistryComponents(store: try ServiceStore(directory: configuration.dataDirectory, mapSizeBytes: configuration.mapSizeBytes))
    let app = buildApplication(configuration, components: components, logger: testLogger)
    return try await app.test(.live) { client in try await body(client, components) }
}

extension RegistryComponents {
    /// A store in the configuration's data directory and the real prober, probing at `interval` seconds.
    static func withProber(_ configuration: RegistryConfiguration, interval: Double) throws -> RegistryComponents {
        let store = try ServiceStore(directory: configuration.dataDirectory)
        var settings = ProbeSettings(configuration)
        settings.defaults.intervalSeconds = interval
        let prober = HealthProber(store: store, settings: settings, logger: testLogger)
        var components = RegistryComponents(store: store)
        components.prober = prober
        components.probeStatistics = prober.statistics
        components.services = [prober]
        return components
    }
}

extension TestClientProtocol {
    /// Sends a JSON body (a string, sent as is) and returns status and parsed body.
    @discardableResult
    func send(_ method: HTTPRequest.Method, _ uri: String, _ body: String? = nil, token: String? = nil) async throws -> (
        status: Int, json: JSONValue?, text: String
    ) {
        var headers: HTTPFields = [.contentType: "application/json"]
        if let token { headers[.authorization] = "Bearer \(token)" }
        return try await execute(uri: uri, method: method, headers: headers, body: body.map { ByteBuffer(string: $0) }) { response in
            let text = String(buffer: response.body)
            return (Int(response.status.code), try? JSONValue.parse(Array(text.utf8)), text)
        }
    }
}

extension JSONValue {
    var int: Int? { if case .number(let n) = self { Int(n) } else { nil } }
    var string: String? { if case .string(let s) = self { s } else { nil } }
    var array: [JSONValue]? { if case .array(let a) = self { a } else { nil } }
    subscript(index: Int) -> JSONValue? { array.flatMap { index < $0.count ? $0[index] : nil } }
}

/// A `service-registry` process started by a test, stopped (SIGKILL) when released if still running.
final class DaemonProcess: @unchecked Sendable {
    let process = Process()
    let port: Int
    /// stdout and stderr go to a file: a pipe nobody drains would block the daemon once full.
    let logDirectory = TemporaryDirectory("daemon-log")
    var logFile: String { logDirectory.file("daemon.log") }
    var baseURL: String { "http://127.0.0.1:\(port)" }

    /// Starts `service-registry serve` on a free port (unless `port` is given) and waits until `/ready` answers.
    /// `openFileSoftLimit`: the daemon starts with this soft `RLIMIT_NOFILE` (as under systemd's default 1,024),
    /// set by `prlimit`, which then execs the daemon (same PID).
    init(
        arguments: [String], environment: [String: String] = [:], port: Int? = nil, waitReady: Bool = true,
        openFileSoftLimit: Int? = nil
    ) throws {
        self.port = port ?? DaemonProcess.freePort()
        let serve = ["serve", "--host", "127.0.0.1", "--port", "\(self.port)", "--log-level", "warning"] + arguments
        if let openFileSoftLimit {
            process.executableURL = URL(fileURLWithPath: "/usr/bin/prlimit")
            process.arguments = ["--nofile=\(openFileSoftLimit):", "--", TestPaths.executable] + serve
        } else {
            process.executableURL = URL(fileURLWithPath: TestPaths.executable)
            process.arguments = serve
        }
        process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
        FileManager.default.createFile(atPath: logFile, contents: nil)
        let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: logFile))
        process.standardOutput = handle
        process.standardError = handle
        try process.run()
        if waitReady { try waitUntilReady() }
    }

    /// Polls `/ready`. The bound is generous because no test measures start-up (the scale benchmark does): on a
    /// loaded 2-core CI machine two daemons were not ready within 15 s, for a reason their warnings-only log did not
    /// show. Each poll gets 2 s, so one lost request cannot use up the wait, and a timeout reports what the daemon
    /// was doing (`ReadinessDiagnosis`).
    func waitUntilReady(timeout: TimeInterval = 60) throws {
        let started = Date()
        var attempts = 0
        var lastOutcome = "no request made"
        while Date().timeIntervalSince(started) < timeout {
            if !process.isRunning { throw DaemonError("daemon exited with status \(process.terminationStatus): \(readOutput())") }
            attempts += 1
            do {
                let reply = try HTTP.request("GET", "\(baseURL)/ready", timeout: 2)
                if reply.status == 200 { return }
                lastOutcome = "HTTP \(reply.status)"
            } catch {
                lastOutcome = "\(error)"
            }
            Thread.sleep(forTimeInterval: 0.05)
        }
        let diagnosis = ReadinessDiagnosis(pid: process.processIdentifier, port: port)
        throw DaemonError(
            "daemon not ready after \(timeout)s (\(attempts) polls, the last: \(lastOutcome)); \(diagnosis); its log ends: \(readOutput().suffix(2000))"
        )
    }

    func signal(_ signal: Int32) { kill(process.processIdentifier, signal) }

    /// Waits for exit and returns the status.
    @discardableResult
    func waitForExit(timeout: TimeInterval = 10) -> Int32? {
        let deadline = Date().addingTimeInterval(timeout)
        while process.isRunning && Date() < deadline { Thread.sleep(forTimeInterval: 0.02) }
        return process.isRunning ? nil : process.terminationStatus
    }

    /// Everything the daemon printed so far.
    func readOutput() -> String {
        (try? String(contentsOfFile: logFile, encoding: .utf8)) ?? ""
    }

    /// VmRSS of the daemon in bytes.
    func residentBytes() -> Int? {
        guard let status = try? String(contentsOfFile: "/proc/\(process.processIdentifier)/status", encoding: .utf8),
            let line = status.split(separator: "\n").first(where: { $0.hasPrefix("VmRSS:") }),
            let kb = Int(line.split(separator: " ").dropFirst().first ?? "")
        else { return nil }
        return kb * 1024
    }

    deinit {
        if process.isRunning {
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
        }
    }

    static func freePort() -> Int {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        _ = withLoopbackAddress(port: 0) { bind(fd, $0, $1) }
        var addr = sockaddr_in()
        var len = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &len) } }
        return Int(UInt16(bigEndian: addr.sin_port))
    }
}

/// Calls `body` with 127.0.0.1:`port` as a `sockaddr` and its length, for `bind` and `connect`.
func withLoopbackAddress<T>(port: Int, _ body: (UnsafePointer<sockaddr>, socklen_t) -> T) -> T {
    var addr = sockaddr_in()
    addr.sin_family = sa_family_t(AF_INET)
    addr.sin_addr.s_addr = inet_addr("127.0.0.1")
    addr.sin_port = in_port_t(UInt16(port).bigEndian)
    return withUnsafePointer(to: &addr) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { body($0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
    }
}

struct DaemonError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

/// A small blocking HTTP client for talking to daemon processes (curl, which every machine here has).
enum HTTP {
    struct Reply {
        let status: Int
        let body: String
        var json: JSONValue? { try? JSONValue.parse(Array(body.utf8)) }
    }

    static func request(_ method: String, _ url: String, body: String? = nil, headers: [String: String] = [:], timeout: Double = 10) throws -> Reply {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/curl")
        var args = ["-s", "-S", "-X", method, "--max-time", "\(timeout)", "-w", "\n%{http_code}", url]
        for (name, value) in headers { args += ["-H", "\(name): \(value)"] }
        if let body { args += ["-H", "Content-Type: application/json", "--data-binary", "@-"] }
        process.arguments = args
        let input = Pipe()
        let output = Pipe()
        process.standardInput = input
        process.standardOutput = output
        process.standardError = FileHandle.nullDevice
        try process.run()
        if let body { input.fileHandleForWriting.write(Data(body.utf8)) }
        try input.fileHandleForWriting.close()
        let data = output.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        let text = String(decoding: data, as: UTF8.self)
        guard process.terminationStatus == 0, let newline = text.lastIndex(of: "\n"), let status = Int(text[text.index(after: newline)...]) else {
            throw DaemonError("curl \(method) \(url) failed with exit \(process.terminationStatus)")
        }
        return Reply(status: status, body: String(text[..<newline]))
    }
}

/// The first executable called `name` on `$PATH` (then the usual pip locations), or nil.
func executableOnPath(_ name: String) -> String? {
    let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/local/bin:/usr/bin:/bin"
    let directories = path.split(separator: ":").map(String.init) + ["/usr/local/bin", "/root/.local/bin", "/root/.pyenv/shims"]
    return directories.map { "\($0)/\(name)" }.first { FileManager.default.isExecutableFile(atPath: $0) }
}

// MARK: Off the cooperative pool
//
// Swift Testing runs every suite of the process in parallel on Swift's cooperative pool: one thread per core,
// two here. A test that blocks one of them (waiting for a daemon to start, a child process, curl, a polling
// sleep) takes it from everything else in the process, in-process registries included: with two blocked at
// once, a registry served by `withLiveRegistry` answers nothing at all. These helpers run the blocking part
// on `BlockingWork.queue` (threads added on demand) via `blocking`; keep `#expect` outside their closures.

extension DaemonProcess {
    /// `DaemonProcess(...)` (which waits for `/ready` when `waitReady`), off the cooperative pool.
    static func start(
        arguments: [String], environment: [String: String] = [:], port: Int? = nil,
        waitReady: Bool = true, openFileSoftLimit: Int? = nil
    ) async throws -> DaemonProcess {
        try await blocking {
            try DaemonProcess(
                arguments: arguments, environment: environment, port: port, waitReady: waitReady,
                openFileSoftLimit: openFileSoftLimit)
        }
    }

    /// `waitForExit`, off the cooperative pool.
    func exitStatus(timeout: TimeInterval = 10) async throws -> Int32? {
        try await blocking { self.waitForExit(timeout: timeout) }
    }

    /// `waitForExit` in async code, off the cooperative pool (preferred by Swift wherever `await` is possible).
    @discardableResult
    func waitForExit(timeout: TimeInterval = 10) async -> Int32? {
        (try? await blocking { self.waitForExit(timeout: timeout) }) ?? nil
    }
}

extension HTTP {
    /// `HTTP.request` in async code: the same request, waited for off the cooperative pool. Swift prefers this
    /// overload wherever `await` is possible, so an async test cannot block a pool thread with it by accident
    /// (leaving out `await` there is a compile error, not a hidden stall).
    static func request(
        _ method: String, _ url: String, body: String? = nil, headers: [String: String] = [:],
        timeout: Double = 10
    ) async throws -> Reply {
        try await blocking { try request(method, url, body: body, headers: headers, timeout: timeout) }
    }

    /// `HTTP.request`, off the cooperative pool.
    static func send(
        _ method: String, _ url: String, body: String? = nil, headers: [String: String] = [:],
        timeout: Double = 10
    ) async throws -> Reply {
        try await blocking { try request(method, url, body: body, headers: headers, timeout: timeout) }
    }
}
