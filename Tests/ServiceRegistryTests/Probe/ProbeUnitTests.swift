import Foundation
import Testing

@testable import RegistryModel
@testable import RegistryProbe

/// libcurl's report → probe result, and the schedule's arithmetic: no network.
@Suite struct ProbeOutcomeTests {
    let now = Date(timeIntervalSince1970: 1_800_000_000)

    func outcome(code: Int, status: Int = 0, errno: Int = 0, error: String = "", capped: Bool = false) -> CurlOutcome {
        CurlOutcome(code: code, codeText: "code \(code)", errorText: error, osErrno: errno, statusCode: status, bodyCapped: capped)
    }

    @Test func anyTwoHundredIsHealthy() {
        for status in [200, 204, 299] {
            let result = outcome(code: 0, status: status).result(finishedAt: now, timeoutSeconds: 2)
            #expect(result.healthy)
            #expect(result.statusCode == status)
            #expect(result.error == nil)
        }
    }

    @Test func otherStatusesAreUnhealthyWithTheCode() {
        #expect(outcome(code: 0, status: 503).result(finishedAt: now, timeoutSeconds: 2).error == "HTTP 503")
        var redirect = outcome(code: 0, status: 302)
        redirect.redirectURL = "http://127.0.0.1/ok"
        let result = redirect.result(finishedAt: now, timeoutSeconds: 2)
        #expect(!result.healthy)
        #expect(result.error == "HTTP 302 (redirect to http://127.0.0.1/ok not followed)")
    }

    @Test func bodyCutAtTheCapCountsAsAResponse() {
        let result = outcome(code: CurlCode.writeError, status: 200, capped: true).result(finishedAt: now, timeoutSeconds: 2)
        #expect(result.healthy)
        let real = outcome(code: CurlCode.writeError, status: 200, error: "Failure writing output").result(finishedAt: now, timeoutSeconds: 2)
        #expect(!real.healthy)
    }

    @Test func failureReasons() {
        #expect(outcome(code: 28).failureReason(timeoutSeconds: 2) == "timeout after 2.0s")
        #expect(outcome(code: 28).failureReason(timeoutSeconds: 0.25) == "timeout after 0.25s")
        #expect(outcome(code: 7, errno: Int(ECONNREFUSED)).failureReason(timeoutSeconds: 2) == "connection refused")
        #expect(
            outcome(code: 6, error: "Could not resolve host: x.invalid").failureReason(timeoutSeconds: 2)
                == "DNS failure: Could not resolve host: x.invalid")
        #expect(
            outcome(code: 60, error: "SSL certificate problem: self-signed certificate").failureReason(timeoutSeconds: 2)
                == "TLS error: SSL certificate problem: self-signed certificate")
        #expect(outcome(code: 1, error: "Protocol \"ftp\" not supported").failureReason(timeoutSeconds: 2).hasPrefix("unsupported protocol"))
        // No status code reported for a transfer that failed.
        #expect(outcome(code: 28, status: 200).result(finishedAt: now, timeoutSeconds: 2).statusCode == nil)
    }

    @Test func phasesFromCumulativeTimes() {
        var o = outcome(code: 0, status: 200)
        o.namelookupMicros = 1_000
        o.connectMicros = 3_000
        o.appconnectMicros = 10_000
        o.pretransferMicros = 10_100
        o.starttransferMicros = 15_000
        o.totalMicros = 16_000
        let p = o.phases
        #expect(abs(p.resolve - 0.001) < 1e-9)
        #expect(abs(p.connect - 0.002) < 1e-9)
        #expect(abs(p.tls - 0.007) < 1e-9)
        #expect(abs(p.processing - 0.005) < 1e-9)
        #expect(abs(p.transfer - 0.001) < 1e-9)
        o.appconnectMicros = 0
        #expect(o.phases.tls == 0)
        #expect(abs(o.phases.processing - 0.012) < 1e-9)
    }

    @Test func certificateExpiryOfTheLeaf() throws {
        let fixture = try String(contentsOfFile: TestPaths.fixture("probe/certinfo.txt"), encoding: .utf8)
        let certificates = fixture.components(separatedBy: "\n\n").map { $0.split(separator: "\n").map(String.init) }
        let o = CurlOutcome(code: 0, codeText: "", errorText: "", osErrno: 0, statusCode: 200, certificates: certificates)
        let expected = DateComponents(
            calendar: Calendar(identifier: .gregorian), timeZone: TimeZone(identifier: "UTC"),
            year: 2026, month: 12, day: 19, hour: 1, minute: 52, second: 7
        ).date
        #expect(o.leafCertificateExpiry == expected)
        #expect(CurlOutcome.parseCertificateDate("Jan  5 00:00:00 2030 GMT") != nil)
        #expect(CurlOutcome.parseCertificateDate("Foo 5 00:00:00 2030 GMT") == nil)
        #expect(CurlOutcome.parseCertificateDate("Jan 5 25:00:00 2030 GMT") == nil)
        #expect(CurlOutcome.parseCertificateDate("") == nil)
    }
}

@Suite struct ProbeScheduleTests {
    let request = ProbeRequest(url: "http://127.0.0.1:1/", timeoutSeconds: 2)

    @Test func phasesSpreadEvenly() {
        var buckets = [Int](repeating: 0, count: 10)
        for id in 1...10_000 { buckets[Int(ProbeSchedule.phase(of: id) * 10)] += 1 }
        // 1,000 expected per tenth of the interval.
        #expect(buckets.allSatisfy { (850...1150).contains($0) }, "\(buckets)")
    }

    @Test func newServicesAreDueWithinOneIntervalAndRepeatAtFixedRate() {
        var schedule = ProbeSchedule()
        for id in 1...100 { schedule.upsert(id: id, request: request, interval: 10, now: 1000) }
        #expect(schedule.popDue(now: 999.9) == nil)
        var started: [Int: Double] = [:]
        var t = 1000.0
        while t <= 1010 {
            while let due = schedule.popDue(now: t) {
                started[due.id] = due.due
                schedule.finished(id: due.id)
            }
            t += 0.01
        }
        #expect(started.count == 100)
        #expect(started.values.allSatisfy { (1000...1010).contains($0) })
        // The next round is exactly one interval later.
        let first = schedule.entries[1]!
        #expect(abs(first.due - (started[1]! + 10)) < 1e-9)
    }

    @Test func removedServicesAreNotDue() {
        var schedule = ProbeSchedule()
        schedule.upsert(id: 1, request: request, interval: 1, now: 0)
        schedule.remove(id: 1)
        #expect(schedule.popDue(now: 100) == nil)
        #expect(schedule.nextDue() == nil)
    }

    @Test func changedTargetIsDueAtOnceAndAProbeStillRunningSkipsItsTurn() {
        var schedule = ProbeSchedule()
        schedule.upsert(id: 7, request: request, interval: 60, now: 0)
        var moved = request
        moved.url = "http://127.0.0.1:2/"
        schedule.upsert(id: 7, request: moved, interval: 60, now: 5)
        let due = schedule.popDue(now: 5)
        #expect(due?.request.url == moved.url)
        // Still in flight at its next turn: skipped, due again one interval later.
        #expect(schedule.popDue(now: 65) == nil)
        #expect(schedule.entries[7]!.due == 125)
    }
}

@Suite struct PendingProbeResultsTests {
    @Test func changedResultsGoNowRoutineOnesAfterTheDelay() {
        let pending = PendingProbeResults()
        pending.add(id: 1, changed: true, now: 100)
        pending.add(id: 2, changed: false, now: 100)
        pending.add(id: 2, changed: false, now: 110)
        let first = pending.take(now: 111, routineDelay: 30)
        #expect(first.ids == [1])
        // Id 2 has waited since t=100: written once 30 s have passed, then nothing is left.
        #expect(pending.take(now: 129, routineDelay: 30).ids.isEmpty)
        #expect(pending.take(now: 130, routineDelay: 30).ids == [2])
        #expect(pending.take(now: 500, routineDelay: 30).ids.isEmpty)
        // Shutdown takes everything.
        pending.add(id: 3, changed: false, now: 600)
        #expect(pending.take(now: 600, routineDelay: 0).ids == [3])
    }
}

/// The schedule holds a request per probed service (issue 14): the daemon-wide settings are one shared instance, and
/// changing one of them still changes the requests made afterwards.
@Suite struct ProbeRequestSharingTests {
    @Test func requestsOfOneSettingsShareItsDaemonWidePart() throws {
        var settings = ProbeSettings(interval: 60, timeout: 2, concurrency: 10, caFile: "/etc/ca.pem")
        settings.allowLinkLocal = true
        let record = { (id: Int) in
            ServiceRecord(id: id, name: "s\(id)", url: "https://127.0.0.1:\(8000 + id)/", createdAt: Date(), updatedAt: Date())
        }
        let a = try #require(ProbeRequest(record: record(1), settings: settings))
        let b = try #require(ProbeRequest(record: record(2), settings: settings))
        #expect(a.shared === b.shared)
        #expect(a.caFile == "/etc/ca.pem" && a.allowLinkLocal && a.isHTTPS && a.target.curlURL == "https://127.0.0.1:8001/")
        settings.caFile = "/etc/other.pem"
        let c = try #require(ProbeRequest(record: record(1), settings: settings))
        #expect(c != a && c.caFile == "/etc/other.pem" && c.allowLinkLocal)
        #expect(a.caFile == "/etc/ca.pem" && b.caFile == "/etc/ca.pem", "a settings change leaves requests made before alone")
        #expect(MemoryLayout<ProbeSchedule.Entry>.stride <= 80)  // 112 before: 3.2 MB at 100,000 services
    }
}

/// RFC 6761's `.invalid` names, recognised in the URL without a parser or a resolver.
@Suite struct ReservedNamesTests {
    @Test(arguments: [
        "http://no-such-host.invalid/", "http://NO-SUCH-HOST.INVALID:8080/x", "https://a.b.invalid./", "http://user:pw@x.invalid:1/",
        "http://invalid/", "http://x.invalid?q", "http://x.invalid#f", "http://x.Invalid",
    ])
    func invalidNamesNeverResolve(url: String) {
        #expect(ReservedNames.neverResolves(url: url))
    }

    @Test(arguments: [
        "http://127.0.0.1/", "http://invalid.example/", "http://notinvalid/", "http://x.invalidx/", "http://[::1]:80/",
        "http://x.example/a.invalid", "http://x.invalid@127.0.0.1/", "no scheme x.invalid", "http://", "http://:80/",
    ])
    func otherNamesAreLeftToTheResolver(url: String) {
        #expect(!ReservedNames.neverResolves(url: url))
    }

    @Test func aTCPTargetIsJudgedByTheHostItConnectsTo() {
        #expect(ProbeRequest.Target("tcp://db.invalid:5432").neverResolves)
        #expect(!ProbeRequest.Target("tcp://127.0.0.1:5432").neverResolves)
    }
}
