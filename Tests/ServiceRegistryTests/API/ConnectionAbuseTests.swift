import Foundation
import Testing

@testable import RegistryModel

/// SPEC §12: clients holding every connection they can must not starve `/health`, probing or discovery; and
/// SIGTERM must still stop the daemon promptly. The daemon starts with the 1,024 open-file soft limit systemd
/// gives services by default (PLATFORM.md), set by the test before exec.
@Suite(.serialized) struct ConnectionAbuseTests {
    /// Opens up to `count` idle connections (each within 2 s, giving up after 20 failures in a row).
    static func openIdle(_ count: Int, port: Int) -> [RawSocket] {
        var sockets: [RawSocket] = []
        var failuresInARow = 0
        while sockets.count < count && failuresInARow < 20 {
            if let socket = RawSocket(port: port, timeout: 2) {
                sockets.append(socket)
                failuresInARow = 0
            } else {
                failuresInARow += 1
            }
        }
        return sockets
    }

    /// Times one `GET /health` over a fresh connection; nil if it got no 200 within `timeout`.
    static func timeHealth(port: Int, timeout: Double = 10) -> Double? {
        let start = Date()
        guard let socket = RawSocket(port: port, timeout: timeout) else { return nil }
        socket.send("GET /health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        guard socket.readResponse(timeout: timeout)?.status == 200 else { return nil }
        return Date().timeIntervalSince(start)
    }

    /// Reproduction from issue 10: 1,100 idle connections under a 1,024 soft limit used to leave the daemon no
    /// descriptor: `/health` timed out and probes could not open sockets.
    @Test func elevenHundredIdleConnectionsUnderTheSystemdSoftLimitDoNotStarveHealthOrProbing() throws {
        let target = try ProbeTargetServer()
        let directory = TemporaryDirectory()
        let daemon = try DaemonProcess(
            arguments: ["--data-dir", directory.file("data"), "--probe-interval", "1", "--scan-interval", "0"],
            openFileSoftLimit: 1024)
        let created = try HTTP.request(
            "POST", "\(daemon.baseURL)/api/services",
            body: serviceJSON("starve-target", url: target.url("/ok"), extra: #""health_url": "\#(target.url("/count/starve"))""#))
        #expect(created.status == 200)
        let idle = Self.openIdle(1100, port: daemon.port)
        #expect(idle.count == 1100)
        let before = try target.hits("/count/starve").count
        #expect(Self.timeHealth(port: daemon.port, timeout: 5) != nil, "/health did not answer within 5 s")
        Thread.sleep(forTimeInterval: 3)
        #expect(try target.hits("/count/starve").count > before, "no probe reached the target while the connections were held")
        let record = try HTTP.request("GET", "\(daemon.baseURL)/api/services", timeout: 5).json?[0]
        if case .object(let fields)? = record { #expect(fields["health_status"]?.string == "healthy", "\(fields)") }
    }

    /// 5,000 idle and 200 slowloris connections (a byte per second) from one client: `/health` answers within about
    /// a second, a healthy target keeps its 1 s probing schedule, and descriptors return to baseline once the client
    /// goes. The timeouts are raised to 120 s here so the client holds all of them for the whole test (the worst case;
    /// with the defaults they would be cut after 10 s and the client would have to keep reconnecting).
    /// Timing bounds allow for a shared 2-core machine: the median of 10 `/health` requests must be under 1 s and the
    /// slowest under 3 s; probe gaps under 3 s for a 1 s interval.
    @Test func fiveThousandIdleAndTwoHundredSlowlorisConnections() throws {
        let target = try ProbeTargetServer()
        let directory = TemporaryDirectory()
        let daemon = try DaemonProcess(
            arguments: [
                "--data-dir", directory.file("data"), "--probe-interval", "1", "--scan-interval", "0",
                "--header-timeout", "120", "--idle-timeout", "120",
            ],
            openFileSoftLimit: 1024)
        let pid = daemon.process.processIdentifier
        let created = try HTTP.request(
            "POST", "\(daemon.baseURL)/api/services",
            body: serviceJSON("abuse-target", url: target.url("/ok"), extra: #""health_url": "\#(target.url("/count/abuse"))""#))
        #expect(created.status == 200)
        Thread.sleep(forTimeInterval: 1.5)
        let baseline = openDescriptorCount(pid: pid)
        let baselineKinds = DescriptorDiagnosis(pid: pid).description

        var idle = Self.openIdle(5000, port: daemon.port)
        #expect(idle.count == 5000)
        var slow = Self.openIdle(200, port: daemon.port)
        #expect(slow.count == 200)
        for socket in slow { socket.send("GET /health HTTP/1.1\r\nHost: x\r\n") }
        let stop = Locked(false)
        let trickler = Thread { [slow] in
            var index = 0
            let deadline = Date().addingTimeInterval(60)
            while !stop.withLock({ $0 }) && Date() < deadline {
                for socket in slow { socket.send("x") }  // one byte per connection per second: the head never ends
                index += 1
                Thread.sleep(forTimeInterval: 1)
            }
        }
        trickler.start()
        defer { stop.withLock { $0 = true } }

        let windowStart = try target.hits("/count/abuse").now
        var latencies: [Double] = []
        for _ in 0..<10 {
            latencies.append(Self.timeHealth(port: daemon.port) ?? .infinity)
            Thread.sleep(forTimeInterval: 0.5)
        }
        Thread.sleep(forTimeInterval: 3)
        let hits = try target.hits("/count/abuse")
        let during = openDescriptorCount(pid: pid)
        stop.withLock { $0 = true }

        let sorted = latencies.sorted()
        #expect(sorted[sorted.count / 2] < 1.0, "median /health latency \(sorted)")
        #expect(sorted.last! < 3.0, "slowest /health \(sorted)")
        let times = hits.times.filter { $0 >= windowStart }.sorted()
        let window = hits.now - windowStart
        #expect(Double(times.count) >= window - 3, "\(times.count) probes in \(window) s")
        let gaps = zip(times.dropFirst(), times).map { $0 - $1 }
        #expect((gaps.max() ?? 99) < 3.0, "probe gaps \(gaps)")
        #expect(during >= baseline + 5000, "the client's connections were not held: \(during) descriptors")

        while trickler.isExecuting { Thread.sleep(forTimeInterval: 0.05) }
        for socket in idle + slow { socket.closeNow() }  // the trickler's closure still holds `slow`
        idle.removeAll()
        slow.removeAll()
        let clientLeft = Date()
        let returned = { (by: Date) -> Int in
            var count = openDescriptorCount(pid: pid)
            while count > baseline + 10 && Date() < by {
                Thread.sleep(forTimeInterval: 0.2)
                count = openDescriptorCount(pid: pid)
            }
            return count
        }
        var after = returned(clientLeft.addingTimeInterval(30))
        var stragglers: [String: Int] = [:]
        if after > baseline + 10 {
            // A connection whose end the daemon was told of (CLOSE_WAIT) must be gone by now. One whose end never
            // reached the daemon (the client's socket went without its FIN arriving) is, to the daemon, an idle
            // connection like any other, which its header timeout (120 s here) closes. Once, on a loaded CI
            // machine, 58 descriptors outlived the 30 s wait; their states were not recorded then, they are now.
            stragglers = DescriptorDiagnosis.acceptedConnections(pid: pid, port: daemon.port)
            #expect(!stragglers.keys.contains { $0.hasPrefix("CLOSE_WAIT") }, "connections the daemon was told had ended: \(stragglers)")
            after = returned(clientLeft.addingTimeInterval(120 + 15))
        }
        #expect(
            after <= baseline + 10,
            "descriptors: baseline \(baseline) (\(baselineKinds)), after the client left \(after) (\(DescriptorDiagnosis(pid: pid))); connections held 30 s after it left: \(stragglers)"
        )
        #expect(Self.timeHealth(port: daemon.port) != nil)
    }

    /// The straggler report above tells the two ends apart: a connection this process accepted and its client then
    /// closed is CLOSE_WAIT here, with the client's socket in FIN_WAIT2 (nobody else will close it for us).
    @Test func acceptedConnectionsAreReportedWithTheirClientsState() throws {
        let listener = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(listener) }
        #expect(withLoopbackAddress(port: 0) { bind(listener, $0, $1) } == 0)
        #expect(listen(listener, 8) == 0)
        var address = sockaddr_in()
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(listener, $0, &length) } }
        let port = Int(UInt16(bigEndian: address.sin_port))
        let open = try #require(RawSocket(port: port))
        let closed = try #require(RawSocket(port: port))
        let accepted = [accept(listener, nil, nil), accept(listener, nil, nil)]
        defer { for descriptor in accepted { close(descriptor) } }
        closed.closeNow()
        var report: [String: Int] = [:]
        for _ in 0..<50 {
            report = DescriptorDiagnosis.acceptedConnections(pid: getpid(), port: port)
            if report["CLOSE_WAIT, client FIN_WAIT2"] == 1 { break }
            Thread.sleep(forTimeInterval: 0.1)
        }
        #expect(report == ["ESTABLISHED, client ESTABLISHED": 1, "CLOSE_WAIT, client FIN_WAIT2": 1])
        let description = DescriptorDiagnosis(pid: getpid()).description
        #expect(description.contains("1× tcp LISTEN local :\(port)") && description.contains("1× tcp CLOSE_WAIT local :\(port)"), "\(description)")
        _ = open
    }

    /// SIGTERM with idle, slowloris and mid-upload clients connected: the daemon exits 0 within 10 s.
    @Test func sigtermExitsWithinTenSecondsWithSlowAndIdleClients() throws {
        let directory = TemporaryDirectory()
        let daemon = try DaemonProcess(arguments: ["--data-dir", directory.file("data"), "--scan-interval", "0"])
        let idle = Self.openIdle(100, port: daemon.port)
        let slow = Self.openIdle(20, port: daemon.port)
        for socket in slow { socket.send("GET /health HTTP/1.1\r\nHost: x\r\nX-a: ") }
        var uploads: [RawSocket] = []
        for _ in 0..<5 {
            if let socket = RawSocket(port: daemon.port) {
                socket.send("POST /api/services HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n\r\n{\"name\": ")
                uploads.append(socket)
            }
        }
        Thread.sleep(forTimeInterval: 0.5)
        let start = Date()
        daemon.signal(SIGTERM)
        let status = daemon.waitForExit(timeout: 15)
        let elapsed = Date().timeIntervalSince(start)
        #expect(status == 0, "exit status \(String(describing: status)) after \(elapsed) s: \(daemon.readOutput().suffix(1000))")
        #expect(elapsed < 10, "took \(elapsed) s")
        _ = (idle, slow, uploads)
    }
}
