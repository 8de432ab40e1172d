import Foundation
import Hummingbird
import HummingbirdTesting
import Testing

@testable import RegistryModel

/// Real libcurl against real servers on 127.0.0.1, through the registry's API.
@Suite(.serialized) struct ProbeIntegrationTests {
    /// Registers a service (long interval: only `check` probes it unless a test says otherwise) and checks it now.
    func registerAndCheck(
        _ client: any TestClientProtocol, _ name: String, url: String, extra: String = "",
        token: String? = nil
    ) async throws -> JSONValue {
        let created = try await client.send(.post, "/api/services", serviceJSON(name, url: url, extra: extra), token: token)
        try #require(created.status == 200, "\(created.text)")
        let id = try #require(created.json?["id"]?.int)
        let checked = try await client.send(.post, "/api/services/\(id)/check", token: token)
        try #require(checked.status == 200, "\(checked.text)")
        return try #require(checked.json)
    }

    @Test func twoHundredAndTwoHundredFourAreHealthy() async throws {
        let target = try ProbeTargetServer()
        try await withProbingRegistry(configure: { $0.probeInterval = 3600 }) { client, _ in
            let ok = try await registerAndCheck(client, "ok", url: target.url("/ok"))
            #expect(ok["health_status"]?.string == "healthy")
            #expect(ok["last_status_code"]?.int == 200)
            #expect(ok["last_error"]?.isNull == true)
            #expect((ok["last_response_time_ms"]?.number ?? -1) >= 0)
            #expect(ok["last_health_check"]?.string != nil)
            let empty = try await registerAndCheck(client, "nocontent", url: target.url("/nocontent"))
            #expect(empty["health_status"]?.string == "healthy")
            #expect(empty["last_status_code"]?.int == 204)
        }
    }

    @Test func failuresSayWhatFailed() async throws {
        let target = try ProbeTargetServer()
        let closedPort = DaemonProcess.freePort()
        try await withProbingRegistry(configure: { $0.probeInterval = 3600 }) { client, _ in
            let fail = try await registerAndCheck(client, "fail", url: target.url("/fail503"))
            #expect(fail["health_status"]?.string == "unhealthy")
            #expect(fail["last_status_code"]?.int == 503)
            #expect(fail["last_error"]?.string == "HTTP 503")

            let redirect = try await registerAndCheck(client, "redirect", url: target.url("/redirect"))
            #expect(redirect["health_status"]?.string == "unhealthy")
            #expect(redirect["last_status_code"]?.int == 302)
            #expect(redirect["last_error"]?.string?.hasPrefix("HTTP 302") == true)

            let followed = try await registerAndCheck(client, "followed", url: target.url("/redirect"), extra: #""follow_redirects":true"#)
            #expect(followed["health_status"]?.string == "healthy")
            #expect(followed["last_status_code"]?.int == 200)

            let refused = try await registerAndCheck(client, "refused", url: "http://127.0.0.1:\(closedPort)/")
            #expect(refused["health_status"]?.string == "unhealthy")
            #expect(refused["last_error"]?.string == "connection refused")
            #expect(refused["last_status_code"]?.isNull == true)

            // RFC 6761: `.invalid` fails at once, with no query to the nameserver (no time spent on a lookup), so this
            // test stays on loopback and does not depend on the machine's DNS.
            let dns = try await registerAndCheck(client, "dns", url: "http://no-such-host.invalid/")
            #expect(dns["health_status"]?.string == "unhealthy")
            #expect(dns["last_error"]?.string?.hasPrefix("DNS failure: Could not resolve host") == true, "\(String(describing: dns["last_error"]))")
            #expect(dns["last_response_time_ms"]?.number == 0)
            let tcpDNS = try await registerAndCheck(client, "dns-tcp", url: target.url("/ok"), extra: #""health_url":"tcp://db.INVALID.:5432""#)
            #expect(tcpDNS["health_status"]?.string == "unhealthy")
            #expect(tcpDNS["last_error"]?.string?.hasPrefix("DNS failure") == true, "\(String(describing: tcpDNS["last_error"]))")
            #expect(tcpDNS["last_response_time_ms"]?.number == 0)

            // health_url wins over url.
            let viaHealthURL = try await registerAndCheck(
                client, "health-url", url: target.url("/fail503"),
                extra: #""health_url":"\#(target.url("/ok"))""#)
            #expect(viaHealthURL["health_status"]?.string == "healthy")
        }
    }

    @Test func tlsSelfSignedFailsAndTrustedCAPassesWithExpiry() async throws {
        let certificates = try TestCertificates()
        let selfSigned = try ProbeTargetServer(certificate: certificates.selfSignedCert, key: certificates.selfSignedKey)
        let trusted = try ProbeTargetServer(certificate: certificates.leafCert, key: certificates.leafKey)
        let expiry = try certificates.notAfter(certificates.leafCert)
        try await withProbingRegistry(configure: {
            $0.probeInterval = 3600
            $0.probeCAFile = certificates.caFile
        }) { client, components in
            let bad = try await registerAndCheck(client, "self-signed", url: selfSigned.url("/ok"))
            #expect(bad["health_status"]?.string == "unhealthy")
            let error = bad["last_error"]?.string ?? ""
            #expect(error.hasPrefix("TLS error: "), "\(error)")
            #expect(error.contains("certificate"), "libcurl's text names the problem: \(error)")

            let good = try await registerAndCheck(client, "trusted", url: trusted.url("/ok"))
            #expect(good["health_status"]?.string == "healthy", "\(good)")
            let id = try #require(good["id"]?.int)
            let reported = try #require(components.store.record(id: id)?.lastProbe?.certificateExpiry)
            #expect(abs(reported.timeIntervalSince(expiry)) < 1)
            #expect((components.store.record(id: id)?.lastProbe?.phases.tls ?? 0) > 0)
        }
    }

    @Test func hangingTargetTimesOutWhileOthersStayOnSchedule() async throws {
        let target = try ProbeTargetServer()
        try await withProbingRegistry(configure: {
            $0.probeInterval = 1
            $0.probeTimeout = 2.0
        }) { client, components in
            let hang = try await client.send(.post, "/api/services", serviceJSON("hang", url: target.url("/hang")))
            let hangID = try #require(hang.json?["id"]?.int)
            var ids: [Int] = []
            for i in 0..<100 {
                let created = try await client.send(.post, "/api/services", serviceJSON("ok-\(i)", url: target.url("/count/\(i)")))
                ids.append(try #require(created.json?["id"]?.int))
            }
            // The hang target's first probe ends by its timeout.
            #expect(try await eventually(timeout: 5) { components.store.record(id: hangID)?.lastProbe != nil })
            let probe = try #require(components.store.record(id: hangID)?.lastProbe)
            #expect(!probe.healthy)
            #expect(probe.error == "timeout after 2.0s")
            #expect(abs(probe.totalSeconds - 2.0) <= 0.3, "took \(probe.totalSeconds)s")
            // Meanwhile every healthy target kept its 1 s rhythm: the server saw about one request per
            // service per second over the last 3 s, and each is healthy.
            try await Task.sleep(for: .seconds(3))
            let hits = try await target.hits("/count/")
            let recent = hits.times.filter { $0 > hits.now - 3 }.count
            #expect(recent >= 270 && recent <= 330, "\(recent) probes of 100 services in 3 s at a 1 s interval")
            #expect(ids.allSatisfy { components.store.record(id: $0)?.healthStatus == .healthy })
            let stats = try #require(components.probeStatistics)
            #expect(stats.queueLagSeconds() < 0.5)
        }
    }

    @Test func firstProbesOfManyNewServicesAreSpreadOverTheInterval() async throws {
        let target = try ProbeTargetServer()
        let interval = 5.0
        try await withProbingRegistry(configure: { $0.probeInterval = interval }) { client, components in
            // One transaction: the prober learns about 1,000 services at the same instant.
            let start = try await target.hits("/").now
            try await components.store.transaction { txn in
                for i in 0..<1000 {
                    let id = try txn.nextID()
                    try txn.save(
                        ServiceRecord(
                            id: id, name: "spread-\(i)", url: target.url("/count/spread/\(i)"),
                            createdAt: txn.now, updatedAt: txn.now), resetProbe: true)
                }
            }
            try await Task.sleep(for: .seconds(interval + 0.5))
            let times = try await target.hits("/count/spread/").times.filter { $0 < start + interval + 0.3 }
            #expect(times.count >= 950, "only \(times.count) first probes in one interval")
            // Ten slots of half a second: about 100 first probes in each, never a burst.
            var slots = [Int](repeating: 0, count: 10)
            for t in times { slots[min(9, max(0, Int((t - start) / (interval / 10))))] += 1 }
            #expect(slots.allSatisfy { (40...200).contains($0) }, "first probes per 0.5 s: \(slots)")
        }
    }

    @Test func historyHoldsTransitionsOnly() async throws {
        let target = try ProbeTargetServer()
        // 1 s: the shortest interval there is (SPEC §12).
        try await withProbingRegistry(configure: { $0.probeInterval = 1 }) { client, components in
            let created = try await client.send(.post, "/api/services", serviceJSON("flappy", url: target.url("/dynamic")))
            let id = try #require(created.json?["id"]?.int)
            let statistics = try #require(components.probeStatistics)
            let probes = { statistics.counters()[id]?.probes ?? 0 }
            #expect(try await eventually(timeout: 8) { probes() >= 3 })
            try target.setDynamicCode(503)
            let before = probes()
            #expect(try await eventually(timeout: 8) { probes() >= before + 3 })
            try target.setDynamicCode(200)
            let middle = probes()
            #expect(try await eventually(timeout: 8) { probes() >= middle + 3 })
            // Results reach LMDB within about a second.
            let expected = [["unknown", "healthy"], ["healthy", "unhealthy"], ["unhealthy", "healthy"]]
            var transitions: [[String]] = []
            _ = try await eventually(timeout: 3) {
                let history = try await client.send(.get, "/api/services/\(id)/history")
                transitions = (history.json?.array ?? []).filter { $0["kind"]?.string == "health" }
                    .map { [$0["from"]?.string ?? "", $0["to"]?.string ?? ""] }
                return transitions == expected
            }
            #expect(transitions == expected, "\(probes()) probes gave \(transitions)")
        }
    }

    @Test func changesAndDeletesArePickedUpWithoutRestart() async throws {
        let target = try ProbeTargetServer()
        try await withProbingRegistry(configure: { $0.probeInterval = 1 }) { client, _ in
            let created = try await client.send(.post, "/api/services", serviceJSON("moving", url: target.url("/count/before")))
            let id = try #require(created.json?["id"]?.int)
            #expect(try await eventually(timeout: 3) { try target.hits("/count/before").count > 0 })
            let moved = try await client.send(.put, "/api/services/\(id)", #"{"health_url":"\#(target.url("/count/after"))"}"#)
            #expect(moved.status == 200)
            #expect(try await eventually(timeout: 1.0) { try target.hits("/count/after").count > 0 }, "new target probed within a second")
            #expect(try await client.send(.delete, "/api/services/\(id)").status == 204)
            try await Task.sleep(for: .seconds(0.5))
            let afterDelete = try await target.hits("/count/after").count
            try await Task.sleep(for: .seconds(2.5))
            #expect(try await target.hits("/count/after").count == afterDelete, "a deleted service is no longer probed")
        }
    }

    @Test func checkNowErrorsAndAuthentication() async throws {
        let target = try ProbeTargetServer()
        try await withProbingRegistry(configure: {
            $0.probeInterval = 3600
            $0.apiToken = "secret"
        }) { client, _ in
            #expect(try await client.send(.post, "/api/services/999/check", token: "secret").status == 404)
            #expect(try await client.send(.post, "/api/services/abc/check", token: "secret").status == 422)
            let created = try await client.send(.post, "/api/services", serviceJSON("guarded", url: target.url("/ok")), token: "secret")
            let id = try #require(created.json?["id"]?.int)
            #expect(try await client.send(.post, "/api/services/\(id)/check").status == 401)
            #expect(try await client.send(.get, "/api/services/\(id)").json?["health_status"]?.string == "unknown")
            let checked = try await client.send(.post, "/api/services/\(id)/check", token: "secret")
            #expect(checked.status == 200)
            #expect(checked.json?["health_status"]?.string == "healthy")
            // The API serves the stored result; it does not probe inline.
            #expect(try await client.send(.get, "/api/services/\(id)").json?["last_health_check"] == checked.json?["last_health_check"])
        }
    }
}

/// The daemon as a process: results survive a restart; a huge body costs no memory.
@Suite(.serialized) struct ProbeDaemonTests {
    @Test func restartKeepsTheLastResults() async throws {
        let target = try ProbeTargetServer()
        let data = TemporaryDirectory()
        var checked: JSONValue?
        var probedOnly: JSONValue?
        do {
            let daemon = try await DaemonProcess.start(arguments: ["--data-dir", data.path, "--probe-interval", "1", "--scan-interval", "0"])
            let a = try await HTTP.request("POST", "\(daemon.baseURL)/api/services", body: serviceJSON("checked", url: target.url("/ok")))
            let b = try await HTTP.request("POST", "\(daemon.baseURL)/api/services", body: serviceJSON("failing", url: target.url("/fail503")))
            let idA = try #require(a.json?["id"]?.int)
            let idB = try #require(b.json?["id"]?.int)
            checked = try await HTTP.request("POST", "\(daemon.baseURL)/api/services/\(idA)/check").json
            // The other one only by the schedule (persisted by the batch writer).
            #expect(
                try await eventually(timeout: 5) {
                    try await HTTP.request("GET", "\(daemon.baseURL)/api/services/\(idB)").json?["health_status"]?.string == "unhealthy"
                })
            try await Task.sleep(for: .seconds(0.2))
            daemon.signal(SIGTERM)
            await #expect(daemon.waitForExit() == 0)
            probedOnly = try? await HTTP.request("GET", "\(daemon.baseURL)/api/services/\(idB)").json  // daemon gone: nil
        }
        #expect(checked?["health_status"]?.string == "healthy")
        #expect(probedOnly == nil)
        let restarted = try await DaemonProcess.start(arguments: ["--data-dir", data.path, "--probe-interval", "3600", "--scan-interval", "0"])
        let list = try await HTTP.request("GET", "\(restarted.baseURL)/api/services").json?.array ?? []
        let byName = Dictionary(uniqueKeysWithValues: list.map { ($0["name"]?.string ?? "", $0) })
        #expect(byName["checked"]?["health_status"]?.string == "healthy")
        #expect(byName["checked"]?["last_status_code"]?.int == 200)
        #expect(byName["failing"]?["health_status"]?.string == "unhealthy")
        #expect(byName["failing"]?["last_error"]?.string == "HTTP 503")
        #expect(byName["failing"]?["last_health_check"]?.string != nil)
    }

    @Test func resultsReachDiskWithinAboutASecondEvenWithoutShutdown() async throws {
        let target = try ProbeTargetServer()
        let data = TemporaryDirectory()
        do {
            let daemon = try await DaemonProcess.start(arguments: ["--data-dir", data.path, "--probe-interval", "1", "--scan-interval", "0"])
            let a = try await HTTP.request("POST", "\(daemon.baseURL)/api/services", body: serviceJSON("batched", url: target.url("/ok")))
            let id = try #require(a.json?["id"]?.int)
            #expect(
                try await eventually(timeout: 5) {
                    try await HTTP.request("GET", "\(daemon.baseURL)/api/services/\(id)").json?["health_status"]?.string == "healthy"
                })
            try await Task.sleep(for: .seconds(2))
            daemon.signal(SIGKILL)
            await daemon.waitForExit()
        }
        let restarted = try await DaemonProcess.start(arguments: ["--data-dir", data.path, "--probe-interval", "3600", "--scan-interval", "0"])
        let record = try await HTTP.request("GET", "\(restarted.baseURL)/api/services/1").json
        #expect(record?["health_status"]?.string == "healthy")
    }

    @Test func hugeBodyDoesNotGrowMemory() async throws {
        let target = try ProbeTargetServer()
        let data = TemporaryDirectory()
        let daemon = try await DaemonProcess.start(arguments: ["--data-dir", data.path, "--probe-interval", "1", "--scan-interval", "0"])
        let pid = daemon.process.processIdentifier
        _ = try await HTTP.request("POST", "\(daemon.baseURL)/api/services", body: serviceJSON("warmup", url: target.url("/ok")))
        try await Task.sleep(for: .seconds(1))
        let before = try residentKB(pid: pid)
        let big = try await HTTP.request("POST", "\(daemon.baseURL)/api/services", body: serviceJSON("big", url: target.url("/big")))
        let id = try #require(big.json?["id"]?.int)
        // About 6 probes of a 50 MB body (1 s is the shortest interval).
        #expect(try await eventually(timeout: 12) { try target.hits("/big").count >= 6 })
        let after = try residentKB(pid: pid)
        let record = try await HTTP.request("GET", "\(daemon.baseURL)/api/services/\(id)").json
        #expect(record?["health_status"]?.string == "healthy", "body cut at 64 KiB after a 200 still counts: \(String(describing: record))")
        #expect(after - before < 8 * 1024, "RSS grew from \(before) kB to \(after) kB")
    }
}
