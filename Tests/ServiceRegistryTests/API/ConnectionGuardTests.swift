import Foundation
import Testing

@testable import RegistryHTTP

/// SPEC §12 "Connections cannot starve it": header and idle timeouts and the connection limit, against the real
/// daemon over raw sockets. Timeouts here are short (1–4 s); the assertions only ever check that a connection is
/// still open *before* its deadline (the daemon cannot close early, however loaded the machine is) and that it is
/// closed within a generous bound *after* it.
@Suite(.serialized) struct ConnectionGuardTests {
    static func daemon(_ extra: [String]) throws -> (DaemonProcess, TemporaryDirectory) {
        let directory = TemporaryDirectory()
        let daemon = try DaemonProcess(arguments: ["--data-dir", directory.file("data"), "--probe-interval", "0", "--scan-interval", "0"] + extra)
        return (daemon, directory)
    }

    static let healthRequest = "GET /health HTTP/1.1\r\nHost: x\r\n\r\n"

    @Test func silentConnectionIsClosedAfterTheHeaderTimeout() throws {
        let (daemon, _) = try Self.daemon(["--header-timeout", "1", "--idle-timeout", "30"])
        let socket = try #require(RawSocket(port: daemon.port))
        let start = Date()
        let (bytes, closed) = socket.readUntilClosed(timeout: 15)
        #expect(closed)
        #expect(bytes.isEmpty)
        #expect(Date().timeIntervalSince(start) >= 0.9)
    }

    @Test func tricklingHeadIsClosedAfterTheHeaderTimeout() throws {
        let (daemon, _) = try Self.daemon(["--header-timeout", "1", "--idle-timeout", "30"])
        let socket = try #require(RawSocket(port: daemon.port))
        socket.send("GET /health HTTP/1.1\r\n")
        let start = Date()
        var closed = false
        // A header line every 200 ms: the head never completes, but bytes keep coming.
        for index in 0..<75 where !closed {
            socket.send("X-Slow-\(index): b\r\n")
            closed = !socket.isOpen
            Thread.sleep(forTimeInterval: 0.2)
        }
        #expect(closed || socket.waitForClose(timeout: 1), "still open after \(Date().timeIntervalSince(start)) s of trickling")
    }

    @Test func keepAliveConnectionWaitsForTheIdleTimeoutNotTheHeaderTimeout() throws {
        let (daemon, _) = try Self.daemon(["--header-timeout", "1", "--idle-timeout", "4"])
        let socket = try #require(RawSocket(port: daemon.port))
        socket.send(Self.healthRequest)
        #expect(socket.readResponse(timeout: 10)?.status == 200)
        let answered = Date()
        Thread.sleep(forTimeInterval: 2)
        #expect(socket.isOpen, "closed before the idle timeout")
        // Still usable.
        socket.send(Self.healthRequest)
        #expect(socket.readResponse(timeout: 10)?.status == 200)
        #expect(socket.waitForClose(timeout: 20))
        #expect(Date().timeIntervalSince(answered) >= 3.9)
    }

    @Test func nextHeadAfterAResponseMustCompleteWithinTheHeaderTimeout() throws {
        let (daemon, _) = try Self.daemon(["--header-timeout", "1", "--idle-timeout", "60"])
        let socket = try #require(RawSocket(port: daemon.port))
        socket.send(Self.healthRequest)
        #expect(socket.readResponse(timeout: 10)?.status == 200)
        socket.send("GET /health HTTP/1.1\r\n")
        var closed = false
        for index in 0..<75 where !closed {
            socket.send("X-Slow-\(index): b\r\n")
            closed = !socket.isOpen
            Thread.sleep(forTimeInterval: 0.2)
        }
        #expect(closed || socket.waitForClose(timeout: 1))
    }

    @Test func atTheLimitTheOldestIdleConnectionMakesRoom() throws {
        let (daemon, _) = try Self.daemon(["--max-connections", "10", "--header-timeout", "60", "--idle-timeout", "60"])
        var sockets: [RawSocket] = []
        for _ in 0..<10 {
            sockets.append(try #require(RawSocket(port: daemon.port)))
            Thread.sleep(forTimeInterval: 0.05)  // accepted in this order
        }
        Thread.sleep(forTimeInterval: 0.5)
        #expect(try HTTP.request("GET", "\(daemon.baseURL)/health").status == 200)
        #expect(sockets[0].waitForClose(timeout: 10), "the oldest idle connection was not closed")
        for socket in sockets.dropFirst() { #expect(socket.isOpen) }
    }

    @Test func whenEveryConnectionIsMidRequestANewOneIsClosedAtOnce() throws {
        let (daemon, _) = try Self.daemon(["--max-connections", "5", "--header-timeout", "60", "--idle-timeout", "60"])
        var busy: [RawSocket] = []
        for _ in 0..<5 {
            let socket = try #require(RawSocket(port: daemon.port))
            // A complete head and part of the body: mid-request.
            socket.send("POST /api/services HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n{\"name\"")
            busy.append(socket)
        }
        Thread.sleep(forTimeInterval: 0.5)
        let newcomer = try #require(RawSocket(port: daemon.port))
        newcomer.send(Self.healthRequest)
        let (bytes, closed) = newcomer.readUntilClosed(timeout: 10)
        #expect(closed)
        #expect(bytes.isEmpty, "\(String(decoding: bytes, as: UTF8.self))")
        for socket in busy { #expect(socket.isOpen) }
        busy[0].closeNow()
        var healthy = false
        for _ in 0..<50 where !healthy {
            healthy = (try? HTTP.request("GET", "\(daemon.baseURL)/health", timeout: 5))?.status == 200
            if !healthy { Thread.sleep(forTimeInterval: 0.1) }
        }
        #expect(healthy)
    }

    @Test func limitsAreConfigurableByEnvironmentAndValidated() throws {
        let directory = TemporaryDirectory()
        let daemon = try DaemonProcess(
            arguments: ["--data-dir", directory.file("data"), "--probe-interval", "0", "--scan-interval", "0"],
            environment: ["SERVICE_REGISTRY_HEADER_TIMEOUT": "1"])
        let socket = try #require(RawSocket(port: daemon.port))
        #expect(socket.waitForClose(timeout: 15))
        let bad = Process()
        bad.executableURL = URL(fileURLWithPath: TestPaths.executable)
        bad.arguments = ["serve", "--data-dir", directory.file("other"), "--max-connections", "0"]
        bad.standardError = FileHandle.nullDevice
        try bad.run()
        bad.waitUntilExit()
        #expect(bad.terminationStatus == 2)
    }

    @Test func maxConnectionsLeavesDescriptorsForProbing() {
        var limits = ConnectionLimits()
        #expect(limits.effectiveMaxConnections(openFileLimit: 65536, probeConcurrency: 1000) == 10_000)
        #expect(limits.effectiveMaxConnections(openFileLimit: 4096, probeConcurrency: 1000) == 4096 - 1256)
        limits.maxConnections = 50
        #expect(limits.effectiveMaxConnections(openFileLimit: 1024, probeConcurrency: 100) == 50)
    }
}
