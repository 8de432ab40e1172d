import Foundation
import RegistrySupport
import Testing

/// A private systemd user manager for the integration tests, run only through the project's
/// `shared/tools/systemd-user-manager.sh` (PLATFORM.md: never start `systemd --user` any other way here).
final class SystemdUserManager: Sendable {
    /// The manager of the running suite (set by `SystemdUserManagerTrait`).
    @TaskLocal static var current: SystemdUserManager?

    let script: String
    /// `SD_HARNESS_DIR`: unique per test run.
    let base: String
    var runtimeDirectory: String { base + "/xdg" }
    var unitDirectory: String { runtimeDirectory + "/systemd/user" }
    /// What a process needs in its environment to talk to this manager with `--user`.
    var environment: [String: String] { ["XDG_RUNTIME_DIR": runtimeDirectory] }

    /// `SYSTEMD_USER_MANAGER_SCRIPT`, else `../shared/tools/` beside the package (CI), else `/work/shared/tools/`.
    static var scriptPath: String? {
        var candidates: [String] = []
        if let path = ProcessInfo.processInfo.environment["SYSTEMD_USER_MANAGER_SCRIPT"] { candidates.append(path) }
        candidates.append(TestPaths.packageRoot.deletingLastPathComponent().appendingPathComponent("shared/tools/systemd-user-manager.sh").path)
        candidates.append("/work/shared/tools/systemd-user-manager.sh")
        return candidates.first { FileManager.default.isExecutableFile(atPath: $0) }
    }

    static var systemdBinary: String? {
        ["/lib/systemd/systemd", "/usr/lib/systemd/systemd"].first { FileManager.default.isExecutableFile(atPath: $0) }
    }

    /// Why the integration tests cannot run here, or nil when they can.
    static let unavailableReason: String? = {
        var missing: [String] = []
        if scriptPath == nil { missing.append("systemd-user-manager.sh (../shared/tools/ or SYSTEMD_USER_MANAGER_SCRIPT)") }
        if systemdBinary == nil { missing.append("the systemd binary (apt-get install systemd)") }
        if !FileManager.default.isExecutableFile(atPath: "/usr/bin/systemctl") && !FileManager.default.isExecutableFile(atPath: "/bin/systemctl") {
            missing.append("systemctl")
        }
        if getuid() != 0 { missing.append("root (the script needs it)") }
        guard !missing.isEmpty else { return nil }
        let reason = "systemd integration tests skipped: missing " + missing.joined(separator: ", ")
        print(reason)
        return reason
    }()

    static var isAvailable: Bool { unavailableReason == nil }

    private init(script: String, base: String) {
        self.script = script
        self.base = base
    }

    /// Several suites may each run a manager; starting or stopping two at once races in the script's cgroup
    /// set-up (`mkdir: ... File exists`), so starts and stops take turns.
    private static let lifecycle = NSLock()

    static func start() throws -> SystemdUserManager {
        guard let script = scriptPath else { throw DaemonError(unavailableReason ?? "no script") }
        let manager = SystemdUserManager(script: script, base: NSTemporaryDirectory() + "sr-systemd-\(UUID().uuidString.prefix(8))")
        let result = try lifecycle.withLock { try run(script, ["start"], environment: ["SD_HARNESS_DIR": manager.base]) }
        guard result.status == 0 else {
            manager.stop()
            throw DaemonError("systemd-user-manager.sh start failed (\(result.status)): \(result.output)")
        }
        print("systemd user manager for the discovery tests: SD_HARNESS_DIR=\(manager.base)")
        return manager
    }

    func stop() {
        _ = Self.lifecycle.withLock { try? Self.run(script, ["stop"], environment: ["SD_HARNESS_DIR": base]) }
        try? FileManager.default.removeItem(atPath: base)
    }

    /// `systemctl --user ARGS` against this manager.
    @discardableResult
    func systemctl(_ arguments: String...) throws -> (status: Int32, output: String) {
        try Self.run("/usr/bin/systemctl", ["--user"] + arguments, environment: environment)
    }

    /// Writes a unit file and reloads the manager.
    func install(_ name: String, _ contents: String) throws {
        try FileManager.default.createDirectory(atPath: unitDirectory, withIntermediateDirectories: true)
        try contents.write(toFile: unitDirectory + "/" + name, atomically: true, encoding: .utf8)
        try systemctl("daemon-reload")
    }

    func property(_ unit: String, _ name: String) throws -> String {
        try systemctl("show", "-p", name, "--value", unit).output.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// Polls until `unit`'s ActiveState is `state`.
    func waitFor(_ unit: String, activeState state: String, timeout: TimeInterval = 10) throws {
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            if try property(unit, "ActiveState") == state { return }
            Thread.sleep(forTimeInterval: 0.05)
        }
        throw DaemonError("\(unit) did not reach \(state) within \(timeout)s (is \(try property(unit, "ActiveState")))")
    }

    static func run(_ executable: String, _ arguments: [String], environment: [String: String]) throws -> (status: Int32, output: String) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = pipe
        process.standardInput = FileHandle.nullDevice
        try process.run()
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return (process.terminationStatus, String(decoding: data, as: UTF8.self))
    }
}

/// Starts one manager for the whole suite it is applied to and always stops it afterwards, even on failure.
struct SystemdUserManagerTrait: SuiteTrait, TestScoping {
    func provideScope(for test: Test, testCase: Test.Case?, performing function: @Sendable () async throws -> Void) async throws {
        let manager = try await blocking { try SystemdUserManager.start() }
        do {
            try await SystemdUserManager.$current.withValue(manager) { try await function() }
        } catch {
            _ = try? await blocking { manager.stop() }
            throw error
        }
        try await blocking { manager.stop() }
    }
}

extension Trait where Self == SystemdUserManagerTrait {
    static var systemdUserManager: Self { Self() }
}

/// Waits until something accepts TCP connections on 127.0.0.1:`port`.
func waitUntilListening(_ port: Int, timeout: TimeInterval = 10) throws {
    let deadline = Date().addingTimeInterval(timeout)
    while Date() < deadline {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        let ok = withLoopbackAddress(port: port) { connect(fd, $0, $1) } == 0
        close(fd)
        if ok { return }
        Thread.sleep(forTimeInterval: 0.05)
    }
    throw DaemonError("nothing listens on 127.0.0.1:\(port) after \(timeout)s")
}

/// A free port inside the default web range (3000–9999), so that discovery picks it as `port`
/// (`DaemonProcess.freePort()` returns ephemeral ports above it).
func freeWebPort() -> Int {
    while true {
        let port = Int.random(in: 4000...9999)
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        let bound = withLoopbackAddress(port: port) { bind(fd, $0, $1) } == 0
        close(fd)
        if bound { return port }
    }
}

/// Runs blocking test code (processes, curl, polling sleeps) on a dispatch thread. Swift Testing runs tests on
/// the cooperative pool, one thread per core here; a test blocking it starves the tests running beside it
/// (the daemon write-load tests measured a fraction of their usual throughput).
/// Keep `#expect` outside: issues are attributed through task-locals, which a dispatch thread does not have.
func blocking<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
    try await withCheckedThrowingContinuation { continuation in
        BlockingWork.queue.async { continuation.resume(with: Result { try body() }) }
    }
}

/// `HTTP.request` off the cooperative pool.
func request(_ method: String, _ url: String, body: String? = nil) async throws -> HTTP.Reply {
    try await blocking { try HTTP.request(method, url, body: body) }
}
