import Foundation
import Synchronization
import Testing

@testable import RegistryStore

/// A thread-safe counter shared by concurrent tasks.
final class Counter: Sendable {
    private let count = Mutex(0)
    func increment() { count.withLock { $0 += 1 } }
    var value: Int { count.withLock { $0 } }
}
#if canImport(FoundationNetworking)
    import FoundationNetworking
#endif

/// The real `service-registry serve` binary: restarts, signals, crashes and bad configuration.
/// Daemons are started, waited for and asked off the cooperative pool (`DaemonProcess.start`, `HTTP.send`).
@Suite(.serialized) struct DaemonProcessTests {
    @Test func recordsSurviveARestart() async throws {
        let data = TemporaryDirectory()
        var daemon: DaemonProcess? = try await DaemonProcess.start(arguments: ["--data-dir", data.path])
        let created = try await HTTP.send(
            "POST", "\(daemon!.baseURL)/api/services", body: #"{"name":"web","url":"http://127.0.0.1:8080","port":8080}"#)
        #expect(created.status == 200)
        daemon!.signal(SIGTERM)
        #expect(try await daemon!.exitStatus() == 0)
        daemon = try await DaemonProcess.start(arguments: ["--data-dir", data.path])
        let list = try await HTTP.send("GET", "\(daemon!.baseURL)/api/services")
        #expect(list.json?[0]?["name"]?.string == "web")
        #expect(list.json?[0]?["port"]?.int == 8080)
    }

    /// SIGTERM stops accepting, finishes the request in flight, commits and exits 0 within a few seconds.
    @Test func sigtermFinishesInFlightWritesAndExitsZero() async throws {
        let data = TemporaryDirectory()
        let daemon = try await DaemonProcess.start(arguments: ["--data-dir", data.path])
        let acknowledged = try await Self.writeLoad(daemon.baseURL, writers: 8, duration: 0.6, minimumAcknowledged: 20) {
            daemon.signal(SIGTERM)
        }
        // SPEC §12: SIGTERM exits within 10 s in every state (usually well under a second).
        #expect(try await daemon.exitStatus(timeout: 10) == 0)
        #expect(!acknowledged.isEmpty)
        let stored = Set(try ServiceStore(directory: data.path).snapshot().records.map(\.name))
        #expect(acknowledged.isSubset(of: stored), "lost: \(acknowledged.subtracting(stored).sorted().prefix(5))")
    }

    /// SIGKILL in the middle of a write load: every acknowledged record is on disk and the store reopens.
    @Test func sigkillDuringWritesLosesNoAcknowledgedRecord() async throws {
        let data = TemporaryDirectory()
        let daemon = try await DaemonProcess.start(arguments: ["--data-dir", data.path])
        let acknowledged = try await Self.writeLoad(daemon.baseURL, writers: 8, duration: 0.8, minimumAcknowledged: 100) {
            daemon.signal(SIGKILL)
        }
        #expect(try await daemon.exitStatus() != nil)
        #expect(acknowledged.count > 50, "the load did not run: \(acknowledged.count) writes")
        let restarted = try await DaemonProcess.start(arguments: ["--data-dir", data.path])
        let list = try await HTTP.send("GET", "\(restarted.baseURL)/api/services")
        let stored = Set(list.json?.array?.compactMap { $0["name"]?.string } ?? [])
        #expect(acknowledged.isSubset(of: stored), "lost \(acknowledged.subtracting(stored).count) acknowledged records")
        let ids = list.json?.array?.compactMap { $0["id"]?.int } ?? []
        #expect(Set(ids).count == ids.count)
    }

    /// 16 concurrent HTTP writers × 200 upserts over 400 names: unique ids and names, nothing lost.
    @Test func concurrentHTTPWritersLeaveAConsistentStore() async throws {
        let data = TemporaryDirectory()
        let daemon = try await DaemonProcess.start(arguments: ["--data-dir", data.path])
        let session = URLSession(configuration: .ephemeral)
        try await withThrowingTaskGroup(of: Void.self) { group in
            for writer in 0..<16 {
                group.addTask {
                    for i in 0..<200 {
                        let name = "svc-\((writer * 25 + i) % 400)"
                        let status = try await Self.post(session, daemon.baseURL, #"{"name":"\#(name)","url":"http://127.0.0.1:\#(1 + i)"}"#)
                        #expect(status == 200)
                    }
                }
            }
            try await group.waitForAll()
        }
        let records = try await HTTP.send("GET", "\(daemon.baseURL)/api/services").json?.array ?? []
        #expect(records.count == 400)
        #expect(Set(records.compactMap { $0["id"]?.int }).count == 400)
        #expect(Set(records.compactMap { $0["name"]?.string }).count == 400)
    }

    @Test func portInUseFailsFastWithOneClearLine() async throws {
        let first = try await DaemonProcess.start(arguments: ["--data-dir", TemporaryDirectory().path])
        let second = try await DaemonProcess.start(arguments: ["--data-dir", TemporaryDirectory().path], port: first.port, waitReady: false)
        let status = try await second.exitStatus(timeout: 10)
        #expect(status != nil && status != 0)
        #expect(second.readOutput().contains("cannot listen on 127.0.0.1:\(first.port): address already in use"), "\(second.readOutput())")
    }

    @Test func unusableDataDirectoryFailsFast() async throws {
        let parent = TemporaryDirectory()
        FileManager.default.createFile(atPath: parent.file("not-a-dir"), contents: Data("x".utf8))
        let daemon = try await DaemonProcess.start(arguments: ["--data-dir", parent.file("not-a-dir") + "/data"], waitReady: false)
        let status = try await daemon.exitStatus()
        #expect(status != nil && status != 0)
        let output = daemon.readOutput()
        #expect(output.contains("cannot open data directory"), "\(output)")
        #expect(output.split(separator: "\n").filter { $0.contains("service-registry:") }.count == 1)
    }

    @Test func secondDaemonOnTheSameDataDirectoryIsRefused() async throws {
        let data = TemporaryDirectory()
        let first = try await DaemonProcess.start(arguments: ["--data-dir", data.path])
        let second = try await DaemonProcess.start(arguments: ["--data-dir", data.path], waitReady: false)
        #expect(try await second.exitStatus() == 1)
        #expect(second.readOutput().contains("in use by another service-registry process"))
        #expect(try await HTTP.send("GET", "\(first.baseURL)/ready").status == 200)
    }

    @Test(arguments: [
        (["--port", "70000"], "--port 70000"),
        (["--bogus"], "--bogus"),
        (["--log-level", "loud"], "--log-level loud"),
        (["--systemd-scope", "galaxy"], "--systemd-scope galaxy"),
        (["--port-range", "80-"], "--port-range 80-"),
    ])
    func badFlagsFailWithAClearMessage(arguments: [String], mention: String) async throws {
        let daemon = try await DaemonProcess.start(arguments: ["--data-dir", TemporaryDirectory().path] + arguments, waitReady: false)
        let status = try await daemon.exitStatus()
        #expect(status != nil && status != 0)
        #expect(daemon.readOutput().contains(mention.split(separator: " ")[0]), "\(daemon.readOutput())")
    }

    @Test func environmentVariablesConfigureServe() async throws {
        let data = TemporaryDirectory()
        let daemon = try await DaemonProcess.start(
            arguments: [], environment: ["SERVICE_REGISTRY_DATA_DIR": data.path, "SERVICE_REGISTRY_TOKEN": "tok"])
        #expect(try await HTTP.send("POST", "\(daemon.baseURL)/api/services", body: #"{"name":"a","url":"http://127.0.0.1:9"}"#).status == 401)
        #expect(
            try await HTTP.send(
                "POST", "\(daemon.baseURL)/api/services", body: #"{"name":"a","url":"http://127.0.0.1:9"}"#, headers: ["Authorization": "Bearer tok"]
            ).status == 200)
        #expect(FileManager.default.fileExists(atPath: data.file("data.mdb")))
        // The token is never logged.
        #expect(!daemon.readOutput().contains("tok\""))
    }

    @Test func startupWarnsOnceWhenWritesAreOpen() async throws {
        let daemon = try await DaemonProcess.start(arguments: ["--data-dir", TemporaryDirectory().path, "--log-level", "info"])
        daemon.signal(SIGTERM)
        #expect(try await daemon.exitStatus() == 0)
        #expect(daemon.readOutput().components(separatedBy: "no --api-token set").count == 2)
    }

    /// The harness's own report when a daemon never answers: a stopped daemon is listening, its socket is its own,
    /// and its threads are stopped (state T), which is what a failed wait must tell apart from "never bound".
    @Test func aDaemonThatNeverAnswersIsDiagnosed() async throws {
        let daemon = try await DaemonProcess.start(arguments: ["--data-dir", TemporaryDirectory().path])
        daemon.signal(SIGSTOP)
        defer { daemon.signal(SIGKILL) }
        let failure = try await blocking { () -> String in
            do {
                try daemon.waitUntilReady(timeout: 1)
                return "ready"
            } catch { return "\(error)" }
        }
        #expect(failure.contains("is listening") && failure.contains("the daemon's"), "\(failure)")
        #expect(failure.contains("NIO-SGLTN") && failure.contains("(T, "), "\(failure)")
        #expect(failure.contains("polls, the last: curl GET"), "\(failure)")
        let unbound = ReadinessDiagnosis(pid: daemon.process.processIdentifier, port: DaemonProcess.freePort())
        #expect(unbound.description.contains("nothing listens on"), "\(unbound)")
    }

    // MARK: helpers

    static func post(_ session: URLSession, _ base: String, _ body: String) async throws -> Int {
        var request = URLRequest(url: URL(string: "\(base)/api/services")!)
        request.httpMethod = "POST"
        request.httpBody = Data(body.utf8)
        request.setValue("application/json", forHTTPHeaderField: "Content-Type")
        request.timeoutInterval = 10
        let (_, response) = try await session.data(for: request)
        return (response as? HTTPURLResponse)?.statusCode ?? 0
    }

    /// Runs `writers` loops of unique registrations; once `duration` has passed and at least
    /// `minimumAcknowledged` writes were answered (a loaded machine starts slowly), calls `interrupt` while
    /// they are still writing; returns the names whose POST got a 200. Bounded: 30 s at most.
    static func writeLoad(
        _ base: String, writers: Int, duration: TimeInterval, minimumAcknowledged: Int,
        interrupt: @escaping @Sendable () -> Void
    ) async throws -> Set<String> {
        let session = URLSession(configuration: .ephemeral)
        let deadline = Date().addingTimeInterval(30)
        let earliestInterrupt = Date().addingTimeInterval(duration)
        let acknowledgedCount = Counter()
        return await withTaskGroup(of: Set<String>.self) { group in
            for writer in 0..<writers {
                group.addTask {
                    var acked = Set<String>()
                    for i in 0..<100_000 where Date() < deadline {
                        let name = "w\(writer)-\(i)"
                        guard let status = try? await post(session, base, #"{"name":"\#(name)","url":"http://127.0.0.1:1"}"#) else { break }
                        if status == 200 { acked.insert(name) } else { break }
                        acknowledgedCount.increment()
                    }
                    return acked
                }
            }
            group.addTask {
                while Date() < earliestInterrupt || (acknowledgedCount.value < minimumAcknowledged && Date() < deadline) {
                    try? await Task.sleep(for: .milliseconds(20))
                }
                interrupt()
                return []
            }
            var all = Set<String>()
            for await names in group { all.formUnion(names) }
            return all
        }
    }
}
