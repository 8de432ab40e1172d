import Foundation
import Hummingbird
import HummingbirdTesting
import Testing

@testable import RegistryDashboard
@testable import RegistryModel
@testable import RegistryProbe
@testable import RegistryStore

/// A TCP server that greets in something other than HTTP (Fixtures/probe/tcp_server.py); killed when released.
final class PlainTCPServer: @unchecked Sendable {
    let process = Process()
    let port: Int

    init() throws {
        process.executableURL = URL(fileURLWithPath: "/usr/bin/python3")
        process.arguments = [TestPaths.fixture("probe/tcp_server.py")]
        let output = Pipe()
        process.standardOutput = output
        process.standardError = FileHandle.nullDevice
        try process.run()
        var line = Data()
        while !line.contains(UInt8(ascii: "\n")) {
            let chunk = output.fileHandleForReading.availableData
            if chunk.isEmpty { throw DaemonError("tcp server exited before listening") }
            line.append(chunk)
        }
        guard let port = Int(String(decoding: line, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)) else {
            throw DaemonError("tcp server printed no port")
        }
        self.port = port
    }

    deinit {
        if process.isRunning {
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
        }
    }
}

extension JSONValue {
    /// The record's check of `kind`, from `checks`.
    func check(_ kind: String) -> JSONValue? {
        self["checks"]?.array?.first { $0["kind"]?.string == kind }
    }
}

/// SPEC §9 without a network: combining checks, flap damping, the check views.
@Suite struct HealthCheckUnitTests {
    func check(_ status: CheckStatus) -> HealthCheck { HealthCheck(kind: .http, target: nil, status: status, output: nil, at: nil) }

    @Test func combiningChecks() {
        #expect(HealthCheck.combine([]) == .unknown)
        #expect(HealthCheck.combine([check(.passing)]) == .healthy)
        #expect(HealthCheck.combine([check(.warning), check(.passing)]) == .healthy)
        #expect(HealthCheck.combine([check(.passing), check(.unknown)]) == .unknown)
        #expect(HealthCheck.combine([check(.unknown), check(.critical)]) == .unhealthy)
        #expect(HealthCheck.combine([check(.passing), check(.critical)]) == .unhealthy)
    }

    func result(_ healthy: Bool) -> ProbeResult {
        ProbeResult(finishedAt: Date(), healthy: healthy, statusCode: healthy ? 200 : 503, totalSeconds: 0.01, error: healthy ? nil : "HTTP 503")
    }

    /// fall = 3: the settled state flips only on the third failure in a row; rise = 2: back on the second success.
    @Test func flapDampingNeedsConsecutiveResults() {
        var last: ProbeResult? = nil
        var settled: [Bool] = []
        for healthy in [true, false, false, true, false, false, false, true, false, true, true] {
            last = FlapDamping.apply(result(healthy), previous: last, rise: 2, fall: 3)
            settled.append(last!.settledHealthy)
        }
        // first settles at once; two failures are not enough; a success resets the run; the third failure flips;
        // one success is not enough (a failure resets it); the second success in a row recovers.
        #expect(settled == [true, true, true, true, true, true, false, false, false, false, true])
    }

    @Test func firstResultSettlesAtOnce() {
        #expect(FlapDamping.apply(result(false), previous: nil, rise: 10, fall: 10).settledHealthy == false)
        #expect(FlapDamping.apply(result(true), previous: nil, rise: 10, fall: 10).settledHealthy == true)
    }

    @Test func systemdCheckFollowsTheUnit() {
        let at = Date()
        #expect(SystemdCheck.check(activeState: "failed", subState: "failed", at: at).status == .critical)
        #expect(SystemdCheck.check(activeState: "active", subState: "running", at: at).status == .passing)
        #expect(SystemdCheck.check(activeState: "reloading", subState: "reload", at: at).status == .passing)
        for state in ["activating", "deactivating", "inactive", "not-found", nil] {
            #expect(SystemdCheck.check(activeState: state, subState: nil, at: at).status == .unknown)
        }
    }

    @Test func tcpTargets() {
        #expect(TCPCheck.connectURL("tcp://127.0.0.1:5432") == "http://127.0.0.1:5432/")
        #expect(TCPCheck.connectURL("tcp://[::1]:6379") == "http://[::1]:6379/")
        #expect(TCPCheck.connectURL("tcp://db.example:3306") == "http://db.example:3306/")
        for bad in ["tcp://127.0.0.1", "tcp://:80", "tcp://127.0.0.1:0", "tcp://127.0.0.1:70000", "tcp://h:1/path", "http://h:1"] {
            #expect(TCPCheck.connectURL(bad) == nil, "\(bad)")
        }
    }

    @Test func newFieldsAreValidated() throws {
        for (body, field) in [
            (#"{"ttl_seconds":0}"#, "ttl_seconds"), (#"{"ttl_seconds":86401}"#, "ttl_seconds"),
            (#"{"ttl_seconds":1.5}"#, "ttl_seconds"), (#"{"rise":0}"#, "rise"), (#"{"fall":11}"#, "fall"),
            (#"{"deregister_after_seconds":59}"#, "deregister_after_seconds"),
            (#"{"deregister_after_seconds":2592001}"#, "deregister_after_seconds"),
            (#"{"health_url":"tcp://127.0.0.1"}"#, "health_url"),
        ] {
            let json = try JSONValue.parse(Array(body.utf8))
            do throws(ValidationFailure) {
                _ = try ServiceInput.parse(json, mode: .update)
                Issue.record("\(body) was accepted")
            } catch {
                #expect(error.issues.contains { $0.loc == [.key("body"), .key(field)] }, "\(body): \(error.issues)")
            }
        }
        let patch = try ServiceInput.parse(
            try JSONValue.parse(
                Array(
                    #"{"ttl_seconds":86400,"rise":10,"fall":1,"deregister_after_seconds":60,"health_url":"tcp://127.0.0.1:5432"}"#.utf8)),
            mode: .update)
        #expect(patch.ttlSeconds == .value(86400) && patch.rise == .value(10) && patch.fall == .value(1))
        #expect(patch.deregisterAfterSeconds == .value(60) && patch.healthURL == .value("tcp://127.0.0.1:5432"))
    }

    @Test func servicePageListsChecksEscaped() {
        var record = ServiceRecord(id: 7, name: "batch", url: "http://127.0.0.1:1", createdAt: Date(), updatedAt: Date())
        record.ttlSeconds = 30
        record.heartbeat = Heartbeat(at: Date(), status: .warning, output: "<b>disk</b> 85%")
        let html = DashboardRenderer().servicePage(record, history: [])
        #expect(html.contains("id=\"checks-title\">Checks</h3>"))
        #expect(html.contains("data-kind=\"ttl\""))
        #expect(html.contains(">warning</td>"))
        #expect(html.contains("&lt;b&gt;disk&lt;/b&gt; 85%") && !html.contains("<b>disk</b>"))
    }

    /// A data directory written by the version before checks existed (no new keys in its JSON) opens, and its
    /// records show the checks they imply.
    @Test func anExistingDataDirectoryOpens() async throws {
        let directory = TemporaryDirectory()
        // Exactly what the previous version stored: JSONEncoder's keys, dates as seconds since 2001.
        let record =
            #"{"id":1,"name":"legacy","url":"http://127.0.0.1:9/","status":"active","port":9,"source":"api","ports":[],"labels":{},"followRedirects":false,"createdAt":786000000,"updatedAt":786000000,"userOwned":[]}"#
        let discovered =
            #"{"id":2,"name":"db.service","url":"http://127.0.0.1:5432","status":"active","port":5432,"source":"systemd","unit":"db.service","activeState":"active","subState":"running","ports":[5432],"labels":{},"followRedirects":false,"createdAt":786000000,"updatedAt":786000000,"userOwned":[]}"#
        let probe =
            #"{"finishedAt":786000100,"healthy":false,"statusCode":503,"totalSeconds":0.2,"phases":{"resolve":0,"connect":0,"tls":0,"processing":0,"transfer":0},"error":"HTTP 503"}"#
        do {
            let store = try ServiceStore(directory: directory.path)
            try store.transactionSync { txn in
                try txn.txn.put(txn.dbs.services, UInt64(1).bigEndianBytes, Array(record.utf8))
                try txn.txn.put(txn.dbs.services, UInt64(2).bigEndianBytes, Array(discovered.utf8))
                try txn.txn.put(txn.dbs.names, Array("legacy".utf8), UInt64(1).bigEndianBytes)
                try txn.txn.put(txn.dbs.names, Array("db.service".utf8), UInt64(2).bigEndianBytes)
                try txn.txn.put(txn.dbs.probes, UInt64(1).bigEndianBytes, Array(probe.utf8))
            }
        }
        let store = try ServiceStore(directory: directory.path)
        let legacy = try #require(store.record(id: 1))
        #expect(legacy.ttlSeconds == nil && legacy.rise == nil && legacy.fall == nil && legacy.deregisterAfterSeconds == nil)
        #expect(legacy.heartbeat == nil && legacy.tcpCheckPort == nil)
        #expect(legacy.lastProbe?.settled == nil && legacy.healthStatus == .unhealthy)
        #expect(legacy.checks.map(\.kind) == [.http] && legacy.checks.first?.status == .critical)
        let db = try #require(store.record(id: 2))
        #expect(db.checks.map(\.kind) == [.http, .systemd] && db.healthStatus == .unknown)
        // And it can be written again.
        var patch = ServicePatch()
        patch.ttlSeconds = .value(30)
        #expect(try await store.update(id: 1, patch).ttlSeconds == 30)
        #expect(try ServiceStore(directory: directory.path).record(id: 1)?.ttlSeconds == 30)
    }
}

/// tcp, ttl, flap damping and expiring registrations through the API, with real libcurl and real servers.
@Suite(.serialized) struct HealthCheckIntegrationTests {
    func register(_ client: any TestClientProtocol, _ body: String, token: String? = nil) async throws -> Int {
        let created = try await client.send(.post, "/api/services", body, token: token)
        try #require(created.status == 200, "\(created.text)")
        return try #require(created.json?["id"]?.int)
    }

    func check(_ client: any TestClientProtocol, _ id: Int) async throws -> JSONValue {
        let checked = try await client.send(.post, "/api/services/\(id)/check")
        try #require(checked.status == 200, "\(checked.text)")
        return try #require(checked.json)
    }

    /// ESTABLISHED TCP sockets (IPv4) with `port` at either end, from /proc/net/tcp.
    static func establishedConnections(port: Int) -> Int {
        guard let handle = FileHandle(forReadingAtPath: "/proc/net/tcp"), let data = try? handle.readToEnd() else { return -1 }
        let hex = String(format: ":%04X", port)
        return String(decoding: data, as: UTF8.self).split(separator: "\n").dropFirst().filter { line in
            let fields = line.split(separator: " ")
            return fields.count > 3 && fields[3] == "01" && (fields[1].hasSuffix(hex) || fields[2].hasSuffix(hex))
        }.count
    }

    @Test func tcpCheckPassesWhenAConnectionIsAccepted() async throws {
        let server = try PlainTCPServer()
        let closedPort = DaemonProcess.freePort()
        try await withProbingRegistry(configure: { $0.probeInterval = 3600 }) { client, _ in
            let id = try await register(
                client,
                serviceJSON(
                    "postgres", url: "http://127.0.0.1:\(server.port)",
                    extra: #""health_url":"tcp://127.0.0.1:\#(server.port)""#))
            let record = try await check(client, id)
            #expect(record["health_status"]?.string == "healthy", "\(record)")
            #expect(record["last_status_code"]?.isNull == true)
            #expect((record["last_response_time_ms"]?.number ?? -1) >= 0)
            #expect(record["last_error"]?.isNull == true)
            let tcp = try #require(record.check("tcp"))
            #expect(tcp["target"]?.string == "tcp://127.0.0.1:\(server.port)")
            #expect(tcp["status"]?.string == "passing" && tcp["at"]?.string != nil)
            #expect(record["checks"]?.array?.count == 1)
            // The connection is closed after the check: nothing stays established with the server.
            _ = try await check(client, id)
            let closed = await eventually(timeout: 10) { Self.establishedConnections(port: server.port) == 0 }
            #expect(closed, "\(Self.establishedConnections(port: server.port)) connections still open")
            // `checks` is read-only: a different value is refused like any read-only field.
            #expect(try await client.send(.put, "/api/services/\(id)", #"{"checks":[]}"#).status == 422)

            let refusedID = try await register(
                client,
                serviceJSON(
                    "gone", url: "http://127.0.0.1:\(closedPort)",
                    extra: #""health_url":"tcp://127.0.0.1:\#(closedPort)""#))
            let refused = try await check(client, refusedID)
            #expect(refused["health_status"]?.string == "unhealthy")
            #expect(refused["last_error"]?.string == "connection refused")
            #expect(refused.check("tcp")?["status"]?.string == "critical")
            #expect(refused.check("tcp")?["output"]?.string == "connection refused")
        }
    }

    /// The same server over HTTP is a protocol error (an API record is not switched: only discovered ones are).
    @Test func anAPIRecordProbedOverHTTPAtANonHTTPPortStaysHTTP() async throws {
        let server = try PlainTCPServer()
        try await withProbingRegistry(configure: { $0.probeInterval = 3600 }) { client, _ in
            let id = try await register(client, serviceJSON("ssh", url: "http://127.0.0.1:\(server.port)"))
            let record = try await check(client, id)
            #expect(record["health_status"]?.string == "unhealthy")
            #expect(record.check("http")?["status"]?.string == "critical")
            #expect(record["last_error"]?.string?.hasPrefix("unsupported protocol") == true, "\(record)")
        }
    }

    @Test func ttlCheckFollowsHeartbeatsAndExpires() async throws {
        let token = "hb-token"
        try await withProbingRegistry(configure: {
            $0.probeInterval = 3600
            $0.apiToken = token
        }) { client, components in
            let prober = try #require(components.prober as? HealthProber)
            // ttl set: `url` is not probed; no heartbeat yet → unknown.
            let id = try await register(client, serviceJSON("batch", url: "http://127.0.0.1:1", extra: #""ttl_seconds":30"#), token: token)
            var record = try #require(try await client.send(.get, "/api/services/\(id)").json)
            #expect(record["health_status"]?.string == "unknown")
            #expect(record["checks"]?.array?.map { $0["kind"]?.string } == ["ttl"])
            #expect(record["ttl_seconds"]?.int == 30)
            // A check has nothing to probe.
            #expect(try await client.send(.post, "/api/services/\(id)/check", token: token).json?["health_status"]?.string == "unknown")

            // Writes need the token; unknown id 404; bad bodies 422; a record without ttl 409.
            #expect(try await client.send(.post, "/api/services/\(id)/heartbeat").status == 401)
            #expect(try await client.send(.post, "/api/services/9999/heartbeat", token: token).status == 404)
            #expect(try await client.send(.post, "/api/services/x/heartbeat", token: token).status == 422)
            #expect(try await client.send(.post, "/api/services/\(id)/heartbeat", #"{"status":"bogus"}"#, token: token).status == 422)
            #expect(try await client.send(.post, "/api/services/\(id)/heartbeat", #"{"extra":1}"#, token: token).status == 422)
            let plain = try await register(client, serviceJSON("plain", url: "http://127.0.0.1:1"), token: token)
            #expect(try await client.send(.post, "/api/services/\(plain)/heartbeat", token: token).status == 409)

            // An empty heartbeat is passing.
            let beat = try await client.send(.post, "/api/services/\(id)/heartbeat", token: token)
            #expect(beat.status == 200, "\(beat.text)")
            record = try #require(beat.json)
            #expect(record["health_status"]?.string == "healthy")
            #expect(record.check("ttl")?["status"]?.string == "passing" && record.check("ttl")?["at"]?.string != nil)

            let warning = try await client.send(.post, "/api/services/\(id)/heartbeat", #"{"status":"warning","output":"disk 85%"}"#, token: token)
            #expect(warning.json?["health_status"]?.string == "healthy")
            #expect(warning.json?.check("ttl")?["output"]?.string == "disk 85%")

            let long = String(repeating: "é", count: 600)
            let critical = try await client.send(.post, "/api/services/\(id)/heartbeat", #"{"status":"critical","output":"\#(long)"}"#, token: token)
            #expect(critical.json?["health_status"]?.string == "unhealthy")
            #expect(critical.json?.check("ttl")?["output"]?.string?.unicodeScalars.count == 512)

            _ = try await client.send(.post, "/api/services/\(id)/heartbeat", #"{"status":"passing"}"#, token: token)
            // Not expired before ttl_seconds; expired after, as the prober's sweep finds it.
            await prober.maintain(now: Date().addingTimeInterval(20))
            #expect(try await client.send(.get, "/api/services/\(id)").json?["health_status"]?.string == "healthy")
            await prober.maintain(now: Date().addingTimeInterval(31))
            record = try #require(try await client.send(.get, "/api/services/\(id)").json)
            #expect(record["health_status"]?.string == "unhealthy")
            #expect(record.check("ttl")?["status"]?.string == "critical" && record.check("ttl")?["output"]?.string == "TTL expired")
            let history = try #require(try await client.send(.get, "/api/services/\(id)/history").json?.array)
            #expect(history.last?["to"]?.string == "unhealthy" && history.last?["detail"]?.string == "TTL expired", "\(history)")
            // The next heartbeat revives it.
            #expect(try await client.send(.post, "/api/services/\(id)/heartbeat", token: token).json?["health_status"]?.string == "healthy")
        }
    }

    /// With ttl and a health_url, both checks count.
    @Test func ttlAndHealthURLBothCount() async throws {
        let target = try ProbeTargetServer()
        try await withProbingRegistry(configure: { $0.probeInterval = 3600 }) { client, _ in
            let id = try await register(
                client,
                serviceJSON(
                    "both", url: target.url("/ok"),
                    extra: #""ttl_seconds":60,"health_url":"\#(target.url("/fail503"))""#))
            _ = try await client.send(.post, "/api/services/\(id)/heartbeat")
            let record = try await check(client, id)
            #expect(record["checks"]?.array?.map { $0["kind"]?.string } == ["http", "ttl"])
            #expect(record.check("ttl")?["status"]?.string == "passing")
            #expect(record.check("http")?["status"]?.string == "critical")
            #expect(record["health_status"]?.string == "unhealthy")
        }
    }

    /// fall = 3: unhealthy only after the third failure in a row; rise = 2: healthy only after the second success.
    @Test func riseAndFallDampFlapping() async throws {
        let target = try ProbeTargetServer()
        try target.setDynamicCode(200)
        try await withProbingRegistry(configure: { $0.probeInterval = 3600 }) { client, _ in
            let id = try await register(client, serviceJSON("flappy", url: target.url("/dynamic"), extra: #""rise":2,"fall":3"#))
            #expect(try await check(client, id)["health_status"]?.string == "healthy")
            try target.setDynamicCode(503)
            for attempt in 1...3 {
                let record = try await check(client, id)
                #expect(record["last_status_code"]?.int == 503)
                #expect(record["health_status"]?.string == (attempt < 3 ? "healthy" : "unhealthy"), "failure \(attempt)")
            }
            try target.setDynamicCode(200)
            #expect(try await check(client, id)["health_status"]?.string == "unhealthy")
            #expect(try await check(client, id)["health_status"]?.string == "healthy")
            let history = try #require(try await client.send(.get, "/api/services/\(id)/history").json?.array)
            #expect(history.compactMap { $0["to"]?.string } == ["healthy", "unhealthy", "healthy"])
        }
        // The global default applies to records without their own.
        try target.setDynamicCode(503)
        try await withProbingRegistry(configure: {
            $0.probeInterval = 3600
            $0.probeFall = 2
        }) { client, _ in
            try target.setDynamicCode(200)
            let id = try await register(client, serviceJSON("global", url: target.url("/dynamic")))
            #expect(try await check(client, id)["health_status"]?.string == "healthy")
            try target.setDynamicCode(503)
            #expect(try await check(client, id)["health_status"]?.string == "healthy")
            #expect(try await check(client, id)["health_status"]?.string == "unhealthy")
        }
    }

    /// deregister_after_seconds = 60 (the smallest): deleted once unhealthy that long, by the prober's sweep with
    /// a clock the test sets; logged and counted in /metrics.
    @Test func continuouslyUnhealthyRecordsAreDeregistered() async throws {
        let closedPort = DaemonProcess.freePort()
        try await withProbingRegistry(configure: { $0.probeInterval = 3600 }) { client, components in
            let prober = try #require(components.prober as? HealthProber)
            let id = try await register(
                client,
                serviceJSON(
                    "ephemeral", url: "http://127.0.0.1:\(closedPort)",
                    extra: #""deregister_after_seconds":60"#))
            let keeper = try await register(client, serviceJSON("keeper", url: "http://127.0.0.1:\(closedPort)"))
            #expect(try await check(client, id)["health_status"]?.string == "unhealthy")
            #expect(try await check(client, keeper)["health_status"]?.string == "unhealthy")
            // The prober's own sweep (every second, real time) may have seen it unhealthy first, but not before
            // the check made it so: "since" lies between that and t0.
            let t0 = Date()
            await prober.maintain(now: t0)
            await prober.maintain(now: t0.addingTimeInterval(58))
            #expect(try await client.send(.get, "/api/services/\(id)").status == 200)
            await prober.maintain(now: t0.addingTimeInterval(60))
            #expect(try await client.send(.get, "/api/services/\(id)").status == 404)
            #expect(try await client.send(.get, "/api/services/\(keeper)").status == 200)
            #expect(prober.deregistration.total == 1)
            let metrics = try await client.send(.get, "/metrics").text
            #expect(metrics.contains("service_registry_deregistrations_total 1"), "\(metrics.prefix(200))")
            // It can be set later with PUT, and cleared.
            #expect(
                try await client.send(.put, "/api/services/\(keeper)", #"{"deregister_after_seconds":60}"#).json?["deregister_after_seconds"]?.int
                    == 60)
            #expect(
                try await client.send(.put, "/api/services/\(keeper)", #"{"deregister_after_seconds":null}"#).json?["deregister_after_seconds"]?
                    .isNull == true)
        }
    }

    @Test func checkStatusMetricIsOneHot() async throws {
        let server = try PlainTCPServer()
        try await withProbingRegistry(configure: { $0.probeInterval = 3600 }) { client, _ in
            let id = try await register(
                client,
                serviceJSON(
                    "cache", url: "http://127.0.0.1:\(server.port)",
                    extra: #""health_url":"tcp://127.0.0.1:\#(server.port)","ttl_seconds":60"#))
            _ = try await check(client, id)
            let metrics = try await client.send(.get, "/metrics").text
            let lines = metrics.split(separator: "\n").filter { $0.hasPrefix("service_registry_check_status{id=\"\(id)\"") }
            #expect(lines.count == 8, "\(lines)")
            #expect(lines.contains { $0 == #"service_registry_check_status{id="\#(id)",name="cache",kind="tcp",status="passing"} 1"# })
            #expect(lines.contains { $0 == #"service_registry_check_status{id="\#(id)",name="cache",kind="ttl",status="unknown"} 1"# })
            #expect(lines.filter { $0.hasSuffix(" 1") }.count == 2)
        }
    }
}
