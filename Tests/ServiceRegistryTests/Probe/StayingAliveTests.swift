import Foundation
import Hummingbird
import HummingbirdTesting
import Synchronization
import Testing

@testable import RegistryDiscovery
@testable import RegistryModel
@testable import RegistryProbe
@testable import RegistryStore

/// SPEC §12 (prober side) and §11 "What targets say is bounded": nothing stored, nothing a target says and no
/// burst of checks can stop probing or the daemon.
@Suite struct ProbeBoundsTests {
    @Test(arguments: [
        #""probe_interval_seconds":1e-300"#, #""probe_interval_seconds":0"#, #""probe_interval_seconds":-0"#,
        #""probe_interval_seconds":-0.0"#, #""probe_interval_seconds":0.999"#, #""probe_interval_seconds":-1"#,
        #""probe_interval_seconds":86400.5"#, #""probe_interval_seconds":1e308"#, #""probe_interval_seconds":"NaN""#,
        #""probe_timeout_seconds":1e-300"#, #""probe_timeout_seconds":0"#, #""probe_timeout_seconds":-0"#,
        #""probe_timeout_seconds":0.099"#, #""probe_timeout_seconds":60.001"#, #""probe_timeout_seconds":1e308"#,
        #""probe_timeout_seconds":"Infinity""#,
    ])
    func outOfBoundsIntervalsAndTimeoutsAre422(field: String) async throws {
        try await withRegistry { client, components in
            let created = try await client.send(.post, "/api/services", serviceJSON("bounds", url: "http://127.0.0.1:1/", extra: field))
            #expect(created.status == 422, "\(field) -> \(created.text)")
            let name = field.split(separator: "\"")[0]
            let locs = created.json?["detail"]?.array?.compactMap { $0["loc"]?[1]?.string } ?? []
            #expect(locs.contains(String(name)), "\(field) -> \(created.text)")
            #expect(components.store.snapshot().count == 0)
            // The same through a partial update: the record is left as it was.
            let ok = try await client.send(.post, "/api/services", serviceJSON("bounds", url: "http://127.0.0.1:1/"))
            let id = try #require(ok.json?["id"]?.int)
            let put = try await client.send(.put, "/api/services/\(id)", "{\(field)}")
            #expect(put.status == 422, "\(field) -> \(put.text)")
            #expect(components.store.record(id: id)?.probeIntervalSeconds == nil)
            #expect(components.store.record(id: id)?.probeTimeoutSeconds == nil)
        }
    }

    @Test func numbersBeyondDoubleAre422() async throws {
        try await withRegistry { client, components in
            for field in [#""probe_interval_seconds":1e400"#, #""probe_timeout_seconds":-1e400"#] {
                let reply = try await client.send(.post, "/api/services", serviceJSON("huge", url: "http://127.0.0.1:1/", extra: field))
                #expect(reply.status == 422, "\(field) -> \(reply.text)")
            }
            #expect(components.store.snapshot().count == 0)
        }
    }

    @Test func boundaryValuesAreAccepted() async throws {
        try await withRegistry { client, _ in
            let low = try await client.send(
                .post, "/api/services",
                serviceJSON(
                    "low", url: "http://127.0.0.1:1/",
                    extra: #""probe_interval_seconds":1,"probe_timeout_seconds":0.1"#))
            #expect(low.status == 200, "\(low.text)")
            #expect(low.json?["probe_interval_seconds"]?.number == 1)
            #expect(low.json?["probe_timeout_seconds"]?.number == 0.1)
            let high = try await client.send(
                .post, "/api/services",
                serviceJSON(
                    "high", url: "http://127.0.0.1:1/",
                    extra: #""probe_interval_seconds":86400,"probe_timeout_seconds":60"#))
            #expect(high.status == 200, "\(high.text)")
        }
    }

    /// The global flags follow the same bounds (`--probe-interval 0` still means background probing off).
    @Test(arguments: [
        ["--probe-interval", "0.5"], ["--probe-interval", "1e-300"], ["--probe-interval=-1"], ["--probe-interval", "nan"],
        ["--probe-interval", "inf"], ["--probe-interval", "1e308"], ["--probe-timeout", "0.05"], ["--probe-timeout", "1e-300"],
        ["--probe-timeout", "nan"], ["--probe-timeout", "0"],
    ])
    func outOfBoundsFlagsFailFast(arguments: [String]) throws {
        let daemon = try DaemonProcess(arguments: ["--data-dir", TemporaryDirectory().path, "--scan-interval", "0"] + arguments, waitReady: false)
        let status = daemon.waitForExit(timeout: 15)
        #expect(status != nil && status != 0, "\(arguments) was accepted")
        let flag = arguments[0].split(separator: "=")[0]
        #expect(daemon.readOutput().contains(flag), "\(daemon.readOutput())")
    }

    @Test func environmentVariablesFollowTheSameBounds() throws {
        let daemon = try DaemonProcess(
            arguments: ["--data-dir", TemporaryDirectory().path, "--scan-interval", "0"],
            environment: ["SERVICE_REGISTRY_PROBE_INTERVAL": "0.5"], waitReady: false)
        let status = daemon.waitForExit(timeout: 15)
        #expect(status != nil && status != 0)
    }
}

/// The scheduling rule alone: whatever interval reaches the schedule, it advances.
@Suite struct ProbeScheduleBoundsTests {
    let request = ProbeRequest(url: "http://127.0.0.1:1/", timeoutSeconds: 2)

    @Test(arguments: [1e-300, 0, -0.0, -5, .nan, .infinity, -.infinity, 1e308, .leastNonzeroMagnitude, 0.2])
    func anyIntervalAdvances(interval: Double) {
        var schedule = ProbeSchedule()
        schedule.upsert(id: 1, request: request, interval: interval, now: 1_000)
        schedule.upsert(id: 2, request: request, interval: 1, now: 1_000)
        // At most one probe per service is due at one instant, and the one after is at least 1 s later.
        var popped: [Int] = []
        while let due = schedule.popDue(now: 1_000.5), popped.count < 10 {
            popped.append(due.id)
            schedule.finished(id: due.id)
        }
        #expect(popped.filter { $0 == 1 }.count <= 1, "\(popped)")
        let next = schedule.entries[1]!.due
        #expect(next.isFinite && next > 1_000.5 && next <= 1_000 + 2 * 86_400, "next due \(next)")
    }

    /// A prober that stalled (a stopped process, a starved machine) resumes with one probe per service, not a burst
    /// of the turns it missed: the rule that keeps "at most once per interval" true after any pause.
    @Test func aStallIsFollowedByOneProbeNotACatchUpBurst() {
        var schedule = ProbeSchedule()
        schedule.upsert(id: 1, request: request, interval: 1, now: 1_000)
        var starts: [Double] = []
        func run(until end: Double) {
            var t = starts.last ?? 1_000
            while t <= end {
                while let due = schedule.popDue(now: t) {
                    starts.append(t)
                    schedule.finished(id: due.id)
                }
                t += 0.01
            }
        }
        run(until: 1_003)
        let beforeStall = starts.count
        // Nothing runs for 20 intervals, then the loop turns again.
        var t = 1_023.0
        while let due = schedule.popDue(now: t) {
            starts.append(t)
            schedule.finished(id: due.id)
        }
        #expect(starts.count == beforeStall + 1, "\(starts.count - beforeStall) probes at the instant the stall ended")
        t += 0.01
        run(until: 1_026)
        let after = starts.filter { $0 >= 1_023 }
        #expect(busiestWindow(after, seconds: 2.5) <= 3, "\(after)")
        #expect(after.count >= 3, "probing did not resume: \(after)")
    }

    @Test func effectiveValuesAreClampedByOneRule() {
        let defaults = ProbeDefaults(intervalSeconds: 60, timeoutSeconds: 2)
        func record(_ interval: Double?, _ timeout: Double?) -> ServiceRecord {
            ServiceRecord(
                id: 1, name: "x", url: "http://h/", probeIntervalSeconds: interval, probeTimeoutSeconds: timeout,
                createdAt: Date(), updatedAt: Date())
        }
        #expect(defaults.interval(for: record(1e-300, nil)) == 1)
        #expect(defaults.interval(for: record(-3, nil)) == 1)
        #expect(defaults.interval(for: record(1e308, nil)) == 86_400)
        #expect(defaults.interval(for: record(.nan, nil)) == 60)
        #expect(defaults.interval(for: record(30, nil)) == 30)
        #expect(defaults.timeout(for: record(nil, 1e-300)) == 0.1)
        #expect(defaults.timeout(for: record(nil, 1e308)) == 60)
        #expect(defaults.timeout(for: record(nil, .nan)) == 2)
        #expect(defaults.timeout(for: record(nil, 0.5)) == 0.5)
    }
}

/// What a target says is cut before it is stored.
@Suite struct ProbeTargetStringTests {
    func outcome(code: Int = 0, status: Int = 0, errorText: String = "", redirect: String? = nil) -> CurlOutcome {
        CurlOutcome(code: code, codeText: "text", errorText: errorText, osErrno: 0, statusCode: status, redirectURL: redirect)
    }

    @Test func longLocationIsCut() {
        let location = "http://127.0.0.1/" + String(repeating: "é", count: 100_000)
        let error = outcome(status: 302, redirect: location).result(finishedAt: Date(), timeoutSeconds: 2).error ?? ""
        #expect(error.hasPrefix("HTTP 302 (redirect to http://127.0.0.1/éé"))
        #expect(error.unicodeScalars.count <= 512 + 40, "\(error.unicodeScalars.count) characters")
    }

    @Test func longLibcurlTextIsCut() {
        for code in [CurlCode.couldntResolveHost, 35, CurlCode.recvError, 999] {
            let error =
                outcome(code: code, errorText: String(repeating: "x", count: 10_000)).result(finishedAt: Date(), timeoutSeconds: 2).error ?? ""
            #expect(error.unicodeScalars.count <= 512 + 40, "code \(code): \(error.unicodeScalars.count) characters")
        }
    }

    @Test func shortTextIsKeptAsIs() {
        let error = outcome(status: 302, redirect: "http://127.0.0.1/ok").result(finishedAt: Date(), timeoutSeconds: 2).error
        #expect(error == "HTTP 302 (redirect to http://127.0.0.1/ok not followed)")
    }
}

@Suite struct HistoryByteBudgetTests {
    @Test func historyIsBoundedInBytesAndKeepsTheNewest() async throws {
        let directory = TemporaryDirectory()
        let store = try ServiceStore(directory: directory.path)
        _ = try await store.register(
            {
                var p = ServicePatch(name: "a")
                p.url = .value("http://127.0.0.1:1")
                return p
            }())
        // Events written straight to the store, as an older version would have stored them: 10 KB details.
        for batch in 0..<10 {
            let events = (0..<30).map { i in
                (
                    id: 1,
                    event: HistoryEvent(
                        at: Date(), kind: .health, from: "healthy", to: "unhealthy",
                        detail: "\(batch * 30 + i) " + String(repeating: "d", count: 10_000))
                )
            }
            try await store.persistProbeResults(ids: [], history: events)
        }
        let kept = try store.history(id: 1)
        let bytes = try kept.reduce(0) { $0 + (try JSONEncoder().encode($1)).count }
        #expect(bytes <= 128 * 1024, "\(bytes) bytes in \(kept.count) events")
        #expect(kept.count >= 2)
        #expect(kept.last?.detail?.hasPrefix("299 ") == true)
        // Short events are still kept by count.
        let events = (0..<(ServiceStore.historyLimit + 5)).map { i in
            (id: 1, event: HistoryEvent(at: Date(), kind: .health, from: "healthy", to: "unhealthy", detail: "timeout after 2.0s \(i)"))
        }
        for start in stride(from: 0, to: events.count, by: 200) {
            try await store.persistProbeResults(ids: [], history: Array(events[start..<min(start + 200, events.count)]))
        }
        #expect(try store.history(id: 1).count == ServiceStore.historyLimit)
    }
}

/// SPEC §12 "a hung systemctl": a command whose child keeps the output pipe open still ends at its deadline.
@Suite struct CommandDeadlineTests {
    @Test func aHangingChildIsKilledWithItsParentAtTheDeadline() throws {
        let started = Date()
        let output = try CommandRunner.runBlocking(
            executable: "/bin/sh", arguments: ["-c", "sleep 20 & echo $!; wait"],
            environment: [:], timeout: 0.5)
        #expect(output.timedOut)
        #expect(Date().timeIntervalSince(started) < 10, "returned after \(Date().timeIntervalSince(started)) s")
        let child = try #require(pid_t(String(decoding: output.stdout, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)))
        // Gone (or a zombie waiting for its new parent to reap it), not sleeping on.
        func alive() -> Bool {
            guard let stat = try? String(contentsOfFile: "/proc/\(child)/stat", encoding: .utf8),
                let close = stat.lastIndex(of: ")")
            else { return false }
            return !stat[stat.index(after: close)...].trimmingCharacters(in: .whitespaces).hasPrefix("Z")
        }
        let deadline = Date().addingTimeInterval(5)
        while alive() && Date() < deadline { Thread.sleep(forTimeInterval: 0.05) }
        #expect(!alive(), "the command's child \(child) still runs")
    }

    @Test func aQuickCommandIsReadWhole() throws {
        let output = try CommandRunner.runBlocking(
            executable: "/bin/sh", arguments: ["-c", "head -c 300000 /dev/zero | tr '\\0' x; echo oops >&2; exit 3"],
            environment: [:], timeout: 10)
        #expect(!output.timedOut)
        #expect(output.status == 3)
        #expect(output.stdout.count == 300_000)
        #expect(output.stderrText == "oops")
    }
}

/// SPEC §12 "a hung systemctl" at SIGTERM: discovery's shutdown kills the call running now instead of waiting for its
/// deadline, and runs no other.
@Suite struct DiscoveryShutdownTests {
    @Test func shutdownEndsAScanWaitingOnAHungSystemctl() async throws {
        let directory = TemporaryDirectory()
        // Writes its PID, then hangs with a child holding the pipes (as a systemctl stuck on a dead bus would).
        let pidFile = directory.file("systemctl.pid")
        let script = directory.file("systemctl")
        try "#!/bin/sh\necho $$ > \(pidFile)\nsleep 1000\n".write(toFile: script, atomically: true, encoding: .utf8)
        chmod(script, 0o755)
        var options = DiscoveryOptions(systemctlPath: script)
        options.commandTimeout = 60  // a deadline no test waits for: only the shutdown can end this call in time
        let store = try ServiceStore(directory: directory.file("data"))
        let service = DiscoveryService(store: store, options: options, interval: 0, logger: testLogger)
        let scan = Task { () -> String in
            do {
                _ = try await service.scanNow()
                return "finished"
            } catch { return "\(error)" }
        }
        #expect(await eventually(timeout: 15) { FileManager.default.fileExists(atPath: pidFile) }, "the fake systemctl never started")
        let started = Date()
        service.beginShutdown()
        // Far under the 60 s deadline; generous for a loaded machine (a process kill and reap only).
        let ended = await withTaskGroup(of: String?.self) { group -> String? in
            group.addTask { await scan.value }
            group.addTask {
                try? await Task.sleep(for: .seconds(20))
                return nil
            }
            let first = await group.next() ?? nil
            group.cancelAll()
            return first
        }
        #expect(
            ended == "the daemon is stopping" || ended?.contains("the daemon is stopping") == true,
            "scan still running \(Date().timeIntervalSince(started)) s after shutdown began: \(String(describing: ended))")
        // No new systemctl after shutdown: the next scan fails at once without running one.
        try FileManager.default.removeItem(atPath: pidFile)
        await #expect(throws: DiscoveryUnavailable.self) { try await service.scanNow() }
        #expect(!FileManager.default.fileExists(atPath: pidFile), "a systemctl was started after shutdown")
    }
}

@Suite(.serialized) struct ProberStayingAliveTests {
    /// A target alternating 200 and a 302 with a ~90 KB `Location` (libcurl accepts header lines up to 100 KB):
    /// stored strings are cut, history stays within its byte budget and the database small.
    @Test func redirectsWithHugeLocationsAreCutAndTheDatabaseStaysSmall() async throws {
        let target = try ProbeTargetServer()
        try await withProbingRegistry(configure: { $0.probeInterval = 3600 }) { client, components in
            let created = try await client.send(.post, "/api/services", serviceJSON("flip", url: target.url("/flip302")))
            let id = try #require(created.json?["id"]?.int)
            for _ in 0..<4 { _ = try await client.send(.post, "/api/services/\(id)/check") }
            let before = components.store.storageUsage.usedBytes
            var errors: [String] = []
            for _ in 0..<450 {
                let checked = try await client.send(.post, "/api/services/\(id)/check")
                try #require(checked.status == 200, "\(checked.text.prefix(200))")
                if let error = checked.json?["last_error"]?.string { errors.append(error) }
            }
            #expect(errors.count >= 220)
            #expect(errors.allSatisfy { $0.hasPrefix("HTTP 302 (redirect to \(target.url("/LLL"))") }, "\(errors.first?.prefix(80) ?? "")")
            let longest = errors.map(\.unicodeScalars.count).max() ?? 0
            #expect(longest <= 512 + 40, "last_error of \(longest) characters")
            let history = try await client.send(.get, "/api/services/\(id)/history")
            let events = history.json?.array ?? []
            // 450 transitions, about 140 KB of them: the byte budget, not the count, dropped the oldest.
            #expect(events.count >= 100 && events.count < 400, "\(events.count) events kept")
            #expect(events.allSatisfy { ($0["detail"]?.string?.unicodeScalars.count ?? 0) <= 512 + 40 })
            let stored = try components.store.history(id: id)
            let bytes = try stored.reduce(0) { $0 + (try JSONEncoder().encode($1)).count }
            #expect(bytes <= 128 * 1024, "history holds \(bytes) bytes")
            let grown = components.store.storageUsage.usedBytes - before
            #expect(grown < 1 << 20, "the database grew by \(grown) bytes over 450 probes")
        }
    }

    /// Records written by hand or by an older version, with intervals and timeouts no API accepts today: the
    /// daemon starts, probes everything on a sane rhythm, answers check-now, and stops on SIGTERM.
    @Test func storedOutOfBoundsValuesCannotWedgeTheDaemon() async throws {
        let target = try ProbeTargetServer()
        let blackHole = try BlackHole()
        let data = TemporaryDirectory()
        let odd: [(interval: Double?, timeout: Double?)] = [
            (1e-300, nil), (0, nil), (-5, nil), (1e308, nil), (-0.0, 1e-300), (nil, 0), (nil, -1), (nil, 1e308), (1e-300, 1e308),
        ]
        do {
            let store = try ServiceStore(directory: data.path)
            try store.transactionSync { txn in
                for (i, values) in odd.enumerated() {
                    let id = try txn.nextID()
                    try txn.save(
                        ServiceRecord(
                            id: id, name: "odd-\(i)", url: target.url("/count/odd/\(i)"),
                            probeIntervalSeconds: values.interval, probeTimeoutSeconds: values.timeout,
                            createdAt: txn.now, updatedAt: txn.now), resetProbe: true)
                }
                let hanging = try txn.nextID()
                try txn.save(
                    ServiceRecord(
                        id: hanging, name: "odd-hanging", url: blackHole.url, probeIntervalSeconds: 1e-300,
                        probeTimeoutSeconds: 1e308, createdAt: txn.now, updatedAt: txn.now), resetProbe: true)
                let steady = try txn.nextID()
                try txn.save(
                    ServiceRecord(
                        id: steady, name: "steady", url: target.url("/count/steady"), probeIntervalSeconds: 1,
                        createdAt: txn.now, updatedAt: txn.now), resetProbe: true)
            }
        }
        let daemon = try DaemonProcess(arguments: ["--data-dir", data.path, "--probe-interval", "60", "--scan-interval", "0"])
        // The steady service keeps its 1 s rhythm.
        #expect(try await eventually(timeout: 15) { try target.hits("/count/steady").count >= 4 }, "steady service not probed")
        // The tiny interval is probed about once a second, not in a loop. Counted on the target's own clock (the
        // arrival times it logged), never over a window timed by this test: on a loaded machine the test's sleep
        // can last many seconds longer than asked, and probes arriving at 1/s during it are not a burst.
        try await Task.sleep(for: .seconds(3))
        let tiny = try await target.hits("/count/odd/0")
        #expect(tiny.count >= 2, "the tiny-interval service was not probed: \(tiny.times)")
        let busiest = busiestWindow(tiny.times, seconds: 3)
        #expect(busiest <= 8, "\(busiest) probes of a service clamped to a 1 s interval within 3 s: \(tiny.times)")
        // Check-now answers.
        let checked = try await HTTP.request("POST", "\(daemon.baseURL)/api/services/1/check", timeout: 15)
        #expect(checked.status == 200)
        #expect(checked.json?["health_status"]?.string == "healthy")
        let metrics = try await HTTP.request("GET", "\(daemon.baseURL)/metrics").body
        #expect(metrics.contains(#"service_registry_probe_interval_seconds{id="1",name="odd-0"} 1"#))
        #expect(metrics.contains(#"service_registry_probe_interval_seconds{id="4",name="odd-3"} 86400"#))
        #expect(metrics.contains(#"service_registry_probe_timeout_seconds{id="8",name="odd-7"} 60"#))
        let started = Date()
        daemon.signal(SIGTERM)
        #expect(try await daemon.exitStatus(timeout: 10) == 0, "no exit within 10 s of SIGTERM: \(daemon.readOutput().suffix(2000))")
        #expect(Date().timeIntervalSince(started) < 10)
    }

    /// Check-now shares `--probe-concurrency`: a burst of checks at a black hole gets 429 + Retry-After beyond
    /// the budget, the daemon never holds more probe sockets than the budget, and it keeps probing afterwards.
    @Test func checkNowBurstStaysInsideTheProbeBudget() async throws {
        let target = try ProbeTargetServer()
        let blackHole = try BlackHole()
        let data = TemporaryDirectory()
        let daemon = try DaemonProcess(arguments: [
            "--data-dir", data.path, "--probe-interval", "3600", "--probe-timeout", "2",
            "--probe-concurrency", "2", "--scan-interval", "0",
        ])
        let pid = daemon.process.processIdentifier
        var ids: [Int] = []
        for i in 0..<30 {
            let created = try await HTTP.request(
                "POST", "\(daemon.baseURL)/api/services",
                body: serviceJSON("hole-\(i)", url: blackHole.url + "s\(i)", extra: #""probe_interval_seconds":86400"#))
            ids.append(try #require(created.json?["id"]?.int))
        }
        _ = try await HTTP.request(
            "POST", "\(daemon.baseURL)/api/services",
            body: serviceJSON("alive", url: target.url("/count/alive"), extra: #""probe_interval_seconds":1"#))
        #expect(try await eventually(timeout: 10) { try target.hits("/count/alive").count >= 2 })
        let baselineFDs = try openDescriptors(pid: pid).count

        let sampler = SocketSampler(pid: pid, port: blackHole.port)
        let replies = try ParallelCurl.run(ids.map { ("POST", "\(daemon.baseURL)/api/services/\($0)/check") }, timeout: 20)
        let peak = sampler.stop()

        let statuses = replies.map(\.status)
        #expect(statuses.allSatisfy { $0 == 200 || $0 == 429 }, "\(statuses)")
        let refused = replies.filter { $0.status == 429 }
        // 2 in flight and 2 waiting at a time: nearly all of 30 are refused (fewer when a loaded machine starts the
        // curl processes slowly enough for slots to come round).
        #expect(refused.count >= 10, "\(statuses)")
        for reply in refused {
            let retryAfter = reply.headers["retry-after"].flatMap { Int($0) }
            #expect(retryAfter != nil && retryAfter! >= 1, "429 without a usable Retry-After: \(reply.headers)")
            #expect(reply.body.contains("detail"))
        }
        // Waiting is bounded by the timeout (2 s) and the probe by it again: about 4 s, never more than 2 × + slack.
        #expect(replies.allSatisfy { $0.seconds < 9 }, "\(replies.map(\.seconds))")
        #expect(peak.probeSockets <= 2, "\(peak.probeSockets) sockets to the black hole at once with --probe-concurrency 2")
        #expect(peak.descriptors <= baselineFDs + ids.count + 8, "descriptors peaked at \(peak.descriptors) from \(baselineFDs)")

        // Probing goes on afterwards.
        let alive = try await target.hits("/count/alive").count
        #expect(try await eventually(timeout: 10) { try target.hits("/count/alive").count >= alive + 3 }, "probing stopped after the burst")
        #expect(try await eventually(timeout: 10) { try openDescriptors(pid: pid).count <= baselineFDs + 4 })
        daemon.signal(SIGTERM)
        await #expect(daemon.waitForExit(timeout: 10) == 0)
    }

    /// SIGTERM while probes hang, a check-now is in flight and systemctl never returns: exit 0 within 10 s, and
    /// every acknowledged write is there after a restart.
    @Test func sigtermExitsWithinTenSecondsWhateverHangs() async throws {
        let blackHole = try BlackHole()
        let data = TemporaryDirectory()
        let scripts = TemporaryDirectory("hanging-systemctl")
        let systemctl = scripts.file("systemctl")
        // A child that keeps the pipes open, as a wedged systemctl talking to a dead bus would.
        try "#!/bin/sh\nsleep 1000\necho never\n".write(toFile: systemctl, atomically: true, encoding: .utf8)
        chmod(systemctl, 0o755)
        let daemon = try DaemonProcess(arguments: [
            "--data-dir", data.path, "--probe-interval", "1", "--probe-timeout", "5",
            "--systemctl", systemctl, "--scan-interval", "30",
        ])
        var acknowledged: [String] = []
        for i in 0..<5 {
            // The first one, which the check targets, may take 30 s: the server alone would wait that long for it.
            let reply = try await HTTP.request(
                "POST", "\(daemon.baseURL)/api/services",
                body: serviceJSON(
                    "hanging-\(i)", url: blackHole.url + "h\(i)",
                    extra: i == 0 ? #""probe_timeout_seconds":30"# : ""))
            if reply.status == 200 { acknowledged.append("hanging-\(i)") }
        }
        #expect(acknowledged.count == 5)
        // A scan request joins the hung scan; a check-now waits on a target that never answers.
        let inFlight = try ParallelCurl.start(
            [("POST", "\(daemon.baseURL)/api/services/1/check"), ("POST", "\(daemon.baseURL)/api/scan")], timeout: 30)
        try await Task.sleep(for: .seconds(1.5))
        let last = try await HTTP.request("POST", "\(daemon.baseURL)/api/services", body: serviceJSON("last-write", url: blackHole.url))
        #expect(last.status == 200)
        if last.status == 200 { acknowledged.append("last-write") }
        let started = Date()
        daemon.signal(SIGTERM)
        let status = await daemon.waitForExit(timeout: 10)
        let elapsed = Date().timeIntervalSince(started)
        #expect(status == 0, "exit status \(String(describing: status)) after \(elapsed) s: \(daemon.readOutput().suffix(2000))")
        #expect(elapsed < 10)
        let answers = try await blocking { inFlight.wait() }
        // Answered (or closed with the process) within the 10 s that SIGTERM is promised to take, counted from the
        // signal: how long they ran before it depends on how fast a loaded machine got this test there.
        let afterSignal = answers.map { $0.ended.timeIntervalSince(started) }
        #expect(afterSignal.allSatisfy { $0 < 10 }, "requests in flight at SIGTERM ended \(afterSignal) s after it")
        // And they get an answer, not a connection closed under them: the check-now is cancelled at the signal and
        // the scan's hung systemctl killed, so both answer 503 while the server still drains.
        #expect(answers.map(\.status) == [503, 503], "in flight at SIGTERM: \(answers.map { "\($0.status) \($0.body)" })")
        // Everything acknowledged is there after a restart.
        let restarted = try DaemonProcess(arguments: ["--data-dir", data.path, "--probe-interval", "0", "--scan-interval", "0"])
        let list = try await HTTP.request("GET", "\(restarted.baseURL)/api/services").json?.array ?? []
        let stored = Set(list.compactMap { $0["name"]?.string })
        #expect(Set(acknowledged).isSubset(of: stored), "lost: \(Set(acknowledged).subtracting(stored))")
    }
}

// MARK: Helpers

/// The most arrival times (seconds, one clock) that fall within any window of `seconds`.
func busiestWindow(_ times: [Double], seconds: Double) -> Int {
    let sorted = times.sorted()
    var busiest = 0
    var first = 0
    for last in sorted.indices {
        while sorted[last] - sorted[first] > seconds { first += 1 }
        busiest = max(busiest, last - first + 1)
    }
    return busiest
}

/// A listening socket on 127.0.0.1 that never accepts: connections complete into its backlog and never get a byte.
final class BlackHole: @unchecked Sendable {
    let fd: Int32
    let port: Int
    var url: String { "http://127.0.0.1:\(port)/" }

    init() throws {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0, withLoopbackAddress(port: 0, { bind(fd, $0, $1) }) == 0, listen(fd, 4096) == 0 else {
            throw DaemonError("cannot open the black-hole listener")
        }
        var addr = sockaddr_in()
        var len = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &len) } }
        self.fd = fd
        port = Int(UInt16(bigEndian: addr.sin_port))
    }

    deinit { close(fd) }
}

/// The targets of a process's descriptors (`socket:[INODE]`, paths...).
func openDescriptors(pid: Int32) throws -> [String] {
    let directory = "/proc/\(pid)/fd"
    return try FileManager.default.contentsOfDirectory(atPath: directory).compactMap {
        try? FileManager.default.destinationOfSymbolicLink(atPath: "\(directory)/\($0)")
    }
}

/// Sockets of `pid` connected to 127.0.0.1:`port` (from /proc/net/tcp, matched by inode).
func socketsConnected(pid: Int32, toPort port: Int) -> Int {
    guard let links = try? openDescriptors(pid: pid) else { return 0 }
    let inodes = Set(
        links.compactMap { link -> String? in
            guard link.hasPrefix("socket:[") else { return nil }
            return String(link.dropFirst(8).dropLast())
        })
    guard let handle = FileHandle(forReadingAtPath: "/proc/net/tcp"), let data = try? handle.readToEnd() else { return 0 }
    try? handle.close()
    let portHex = String(format: "%04X", port)
    var count = 0
    for line in String(decoding: data, as: UTF8.self).split(separator: "\n").dropFirst() {
        let fields = line.split(separator: " ", omittingEmptySubsequences: true)
        guard fields.count > 9 else { continue }
        if fields[2].hasSuffix(":" + portHex) && inodes.contains(String(fields[9])) { count += 1 }
    }
    return count
}

/// Samples a daemon's descriptors and its sockets to one port every 20 ms until stopped; keeps the peaks.
final class SocketSampler: @unchecked Sendable {
    struct Peak {
        var probeSockets = 0
        var descriptors = 0
    }
    private let state = Mutex((peak: Peak(), running: true))
    private let done = DispatchSemaphore(value: 0)

    init(pid: Int32, port: Int) {
        let thread = Thread { [self] in
            while state.withLock({ $0.running }) {
                let sockets = socketsConnected(pid: pid, toPort: port)
                let descriptors = (try? openDescriptors(pid: pid).count) ?? 0
                state.withLock {
                    $0.peak.probeSockets = max($0.peak.probeSockets, sockets)
                    $0.peak.descriptors = max($0.peak.descriptors, descriptors)
                }
                Thread.sleep(forTimeInterval: 0.02)
            }
            done.signal()
        }
        thread.start()
    }

    func stop() -> Peak {
        state.withLock { $0.running = false }
        done.wait()
        return state.withLock { $0.peak }
    }
}

/// When each curl process exited, keyed by the process.
final class ExitTimes: Sendable {
    let times = Mutex<[ObjectIdentifier: Date]>([:])
}

/// Many curl requests at once (each its own process), with status, headers, body and time.
struct ParallelCurl {
    struct Reply {
        var status: Int
        var headers: [String: String]
        var body: String
        var seconds: Double
        /// When curl exited (its process's termination, seen from here): the end of the request on the test's clock.
        var ended: Date
    }

    struct Running {
        let processes: [(Process, TemporaryDirectory)]
        let exits: ExitTimes
        func wait() -> [Reply] {
            processes.map { process, directory in
                process.waitUntilExit()
                let ended = exits.times.withLock { $0[ObjectIdentifier(process)] } ?? Date()
                let meta = (try? String(contentsOfFile: directory.file("meta"), encoding: .utf8)) ?? ""
                let parts = meta.split(separator: " ")
                var headers: [String: String] = [:]
                for line in ((try? String(contentsOfFile: directory.file("headers"), encoding: .utf8)) ?? "").split(separator: "\r\n") {
                    guard let colon = line.firstIndex(of: ":") else { continue }
                    headers[line[..<colon].lowercased()] = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
                }
                return Reply(
                    status: parts.first.flatMap { Int($0) } ?? 0, headers: headers,
                    body: (try? String(contentsOfFile: directory.file("body"), encoding: .utf8)) ?? "",
                    seconds: parts.count > 1 ? Double(parts[1]) ?? 0 : 0, ended: ended)
            }
        }
    }

    static func start(_ requests: [(method: String, url: String)], timeout: Double) throws -> Running {
        var processes: [(Process, TemporaryDirectory)] = []
        let exits = ExitTimes()
        for request in requests {
            let directory = TemporaryDirectory("curl")
            let process = Process()
            process.executableURL = URL(fileURLWithPath: "/usr/bin/curl")
            process.arguments = [
                "-s", "-X", request.method, "--max-time", "\(timeout)", "-D", directory.file("headers"),
                "-o", directory.file("body"), "-w", "%{http_code} %{time_total}", request.url,
            ]
            _ = FileManager.default.createFile(atPath: directory.file("meta"), contents: nil)
            process.standardOutput = try FileHandle(forWritingTo: URL(fileURLWithPath: directory.file("meta")))
            process.standardError = FileHandle.nullDevice
            process.terminationHandler = { ended in
                let now = Date()
                exits.times.withLock { $0[ObjectIdentifier(ended)] = now }
            }
            try process.run()
            processes.append((process, directory))
        }
        return Running(processes: processes, exits: exits)
    }

    static func run(_ requests: [(method: String, url: String)], timeout: Double) throws -> [Reply] {
        try start(requests, timeout: timeout).wait()
    }
}
