import CCurl
import Dispatch
import Foundation
import Logging
import RegistryModel
import RegistryStore
import RegistrySupport
import Synchronization

/// The prober is not running (not started yet, or shutting down).
public struct ProberUnavailable: Error, Sendable, CustomStringConvertible {
    public var description: String { "the prober is not running" }
}

/// Every probe slot (`--probe-concurrency`) stayed busy for the service's whole timeout, or as many checks as
/// there are slots were already waiting (SPEC §12): answered 429 with `Retry-After`.
public struct ProberBusy: Error, Sendable, CustomStringConvertible {
    /// When a slot is likely free again: the longest a probe in flight may still take.
    public var retryAfterSeconds: Int
    public var concurrency: Int
    public var description: String {
        "all \(concurrency) probe slots are busy (--probe-concurrency); retry in \(retryAfterSeconds) s"
    }
}

/// Runs every probe on one libcurl multi handle, from one dedicated thread that also keeps the schedule.
///
/// Nothing here blocks Swift concurrency's cooperative pool: other threads only post commands to the
/// inbox and wake the multi handle's poll. Results go straight into the store's memory and into a batch
/// that the owning `HealthProber` persists.
final class ProbeEngine: Sendable {
    package enum Command: Sendable {
        /// The service changed, appeared or disappeared: re-read it from the store.
        case refresh(id: Int)
        case check(id: Int, request: ProbeRequest, reply: CheckedContinuation<ServiceRecord, any Error>)
    }

    private struct Inbox {
        var commands: [Command] = []
        var running = false
        var stopping = false
        var exited: CheckedContinuation<Void, Never>?
        var hasExited = false
    }

    private let store: ServiceStore
    private let settings: ProbeSettings
    private let statistics: ProbeStatisticsRecorder
    private let logger: Logger
    /// Called on the engine's thread for every stored result (the owner batches them for LMDB).
    /// `changed`: health, status code or error differ from the previous result, or a check asked for it.
    private let onResult: @Sendable (_ id: Int, _ changed: Bool) -> Void
    private let inbox = Mutex(Inbox())
    private let multi: UncheckedBox<CurlMulti>

    init(
        store: ServiceStore, settings: ProbeSettings, statistics: ProbeStatisticsRecorder, logger: Logger,
        onResult: @escaping @Sendable (Int, Bool) -> Void
    ) {
        self.store = store
        self.settings = settings
        self.statistics = statistics
        self.logger = logger
        self.onResult = onResult
        multi = UncheckedBox(CurlMulti())
    }

    /// Starts the thread; the schedule is loaded from the store there.
    package func start() {
        let shouldStart = inbox.withLock { inbox -> Bool in
            guard !inbox.running && !inbox.stopping else { return false }
            inbox.running = true
            return true
        }
        guard shouldStart else { return }
        let thread = Thread { [self] in
            let loop = ProbeLoop(engine: self, multi: multi.value)
            loop.run()
            let waiter = inbox.withLock { inbox -> CheckedContinuation<Void, Never>? in
                inbox.running = false
                inbox.hasExited = true
                for command in inbox.commands { if case .check(_, _, let reply) = command { reply.resume(throwing: ProberUnavailable()) } }
                inbox.commands = []
                defer { inbox.exited = nil }
                return inbox.exited
            }
            waiter?.resume()
        }
        thread.name = "service-registry.prober"
        thread.stackSize = 1 << 20
        thread.start()
    }

    /// Longest `stop()` waits for the thread: its own grace for probes in flight is at most 5 s, so this only
    /// matters if the thread were stuck somewhere; SIGTERM must still end the process (SPEC §12).
    static let stopWaitSeconds = 6.0

    /// Starts stopping without waiting: no new probe, probes in flight get a bounded grace, checks waiting for a
    /// slot are answered at once. Called at SIGTERM, so the prober winds down while the server drains requests.
    func beginStop() {
        let wake = inbox.withLock { inbox -> Bool in
            inbox.stopping = true
            return inbox.running
        }
        if wake { multi.value.wakeup() }
    }

    /// Stops scheduling, lets probes in flight finish (bounded), and returns when the thread has exited (or
    /// after `stopWaitSeconds` at the latest).
    package func stop() async {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let resumeNow = inbox.withLock { inbox -> Bool in
                inbox.stopping = true
                if inbox.hasExited || !inbox.running { return true }
                inbox.exited = continuation
                return false
            }
            if resumeNow {
                continuation.resume()
                return
            }
            multi.value.wakeup()
            BlockingWork.queue.asyncAfter(deadline: .now() + Self.stopWaitSeconds) { [self] in
                let waiter = inbox.withLock { inbox -> CheckedContinuation<Void, Never>? in
                    defer { inbox.exited = nil }
                    return inbox.exited
                }
                guard let waiter else { return }
                logger.error(
                    "prober thread did not stop in time; shutting down without it",
                    metadata: ["seconds": "\(Self.stopWaitSeconds)"])
                waiter.resume()
            }
        }
    }

    package func post(_ command: Command) {
        let accepted = inbox.withLock { inbox -> Bool in
            guard inbox.running && !inbox.stopping else { return false }
            inbox.commands.append(command)
            return true
        }
        if accepted {
            multi.value.wakeup()
        } else if case .check(_, _, let reply) = command {
            reply.resume(throwing: ProberUnavailable())
        } else {
            // Not running yet: the thread reads the whole store when it starts, so nothing is lost.
        }
    }

    // MARK: Used by the loop (on the engine's thread)

    fileprivate func takeCommands() -> (commands: [Command], stopping: Bool) {
        inbox.withLock { inbox in
            defer { inbox.commands = [] }
            return (inbox.commands, inbox.stopping)
        }
    }

    fileprivate var engineStore: ServiceStore { store }
    fileprivate var engineSettings: ProbeSettings { settings }
    fileprivate var engineStatistics: ProbeStatisticsRecorder { statistics }
    fileprivate var engineLogger: Logger { logger }
    fileprivate func deliver(id: Int, changed: Bool) { onResult(id, changed) }
}

/// A value only ever used under the engine's own rules (the multi handle: `wakeup` from any thread,
/// everything else from the engine's thread).
final class UncheckedBox<Value>: @unchecked Sendable {
    package let value: Value
    init(_ value: Value) { self.value = value }
}

/// The engine thread's state: schedule, transfers in flight, idle easy handles.
private final class ProbeLoop {
    enum Kind {
        case scheduled
        case check(CheckedContinuation<ServiceRecord, any Error>)
    }

    /// A check-now waiting for a free slot, answered 429 at `deadline` (its service's timeout after arrival).
    struct WaitingCheck {
        package let id: Int
        package let request: ProbeRequest
        let reply: CheckedContinuation<ServiceRecord, any Error>
        package let arrived: Double
        package let deadline: Double
    }

    struct Transfer {
        let easy: CurlEasy
        package let id: Int
        package let request: ProbeRequest
        package let kind: Kind
    }

    /// Idle handles kept for reuse; more are freed (a burst of slow targets must not pin memory).
    static let maxIdleHandles = 128

    let engine: ProbeEngine
    let multi: CurlMulti
    var schedule = ProbeSchedule()
    var transfers: [UnsafeMutableRawPointer: Transfer] = [:]
    var scheduledInFlight: [Int: UnsafeMutableRawPointer] = [:]
    var idle: [CurlEasy] = []
    /// Checks waiting for a slot, oldest first; at most `concurrency` of them.
    var waitingChecks: [WaitingCheck] = []
    var startLags: [Double] = []
    var finished: [(id: Int, healthy: Bool)] = []

    init(engine: ProbeEngine, multi: CurlMulti) {
        self.engine = engine
        self.multi = multi
    }

    static func monotonicNow() -> Double { Double(DispatchTime.now().uptimeNanoseconds) / 1e9 }

    func run() {
        let settings = engine.engineSettings
        var now = Self.monotonicNow()
        engine.engineStore.snapshot().forEachRecord { record in refresh(record.id, record: record, now: now) }
        var stopDeadline: Double?
        while true {
            Liveness.shared.beat(.prober)  // the watchdog's evidence that this thread turns (at least once a second)
            now = Self.monotonicNow()
            let (commands, stopping) = engine.takeCommands()
            for command in commands { handle(command, now: now) }
            if stopping && stopDeadline == nil {
                // SIGTERM: no new probes. A check-now in flight is cancelled at once: its client gets its answer (503)
                // now instead of holding the server's drain open for the grace. Scheduled probes in flight get a
                // bounded grace to finish, so a result about to arrive is still stored.
                for (handle, transfer) in transfers { if case .check = transfer.kind { abandon(handle) } }
                stopDeadline = now + min(5, (transfers.values.map(\.request.timeoutSeconds).max() ?? 0) + 0.5)
            }
            if stopDeadline != nil { answerWaitingChecks(with: ProberUnavailable()) }
            if let stopDeadline, transfers.isEmpty || now >= stopDeadline { break }
            if stopDeadline == nil {
                expireWaitingChecks(now: now)
                startWithinBudget(now: now)
            }
            multi.perform()
            for (handle, code) in multi.completed() { complete(handle, code: code) }
            let nextDue = schedule.nextDue()
            publish(now: now, nextDue: nextDue)
            var waitSeconds = 1.0
            if stopDeadline == nil {
                if let nextDue, transfers.count < settings.concurrency { waitSeconds = min(waitSeconds, nextDue - Self.monotonicNow()) }
                if let first = waitingChecks.first { waitSeconds = min(waitSeconds, first.deadline - Self.monotonicNow()) }
            }
            let waitMs = Int((max(0, waitSeconds) * 1000).rounded(.up))
            if waitMs > 0 || !transfers.isEmpty { multi.poll(timeoutMs: waitMs) }
        }
        answerWaitingChecks(with: ProberUnavailable())
        for handle in Array(transfers.keys) { abandon(handle) }
    }

    /// Starts what the budget allows (SPEC §12: `--probe-concurrency` transfers in flight, checks included),
    /// in order of arrival: a waiting check and a due probe take turns by their times, so neither starves.
    func startWithinBudget(now: Double) {
        let concurrency = engine.engineSettings.concurrency
        while transfers.count < concurrency {
            let dueTime = schedule.nextDue().flatMap { $0 <= now ? $0 : nil }
            if let check = waitingChecks.first, dueTime.map({ check.arrived <= $0 }) ?? true {
                waitingChecks.removeFirst()
                start(check.id, check.request, kind: .check(check.reply))
            } else if dueTime != nil {
                // nil when every due entry was still in flight: each moved an interval on, so this ends.
                if let due = schedule.popDue(now: now) {
                    start(due.id, due.request, kind: .scheduled)
                    startLags.append(max(0, now - due.due))
                }
            } else {
                break
            }
        }
    }

    /// Checks that waited their service's whole timeout for a slot get 429.
    func expireWaitingChecks(now: Double) {
        while let first = waitingChecks.first, first.deadline <= now {
            waitingChecks.removeFirst()
            first.reply.resume(throwing: busy(first.request))
        }
    }

    func answerWaitingChecks(with error: any Error) {
        for check in waitingChecks { check.reply.resume(throwing: error) }
        waitingChecks.removeAll()
    }

    func busy(_ request: ProbeRequest) -> ProberBusy {
        // A slot frees at the latest when the longest probe in flight times out.
        let longest = transfers.values.map(\.request.timeoutSeconds).max() ?? request.timeoutSeconds
        return ProberBusy(retryAfterSeconds: max(1, Int(longest.rounded(.up))), concurrency: engine.engineSettings.concurrency)
    }

    func handle(_ command: ProbeEngine.Command, now: Double) {
        switch command {
        case .refresh(let id):
            refresh(id, record: engine.engineStore.record(id: id), now: now)
        case .check(let id, let request, let reply):
            // Inside the budget: at once if a slot is free and nobody waits, else wait (at most as many checks as
            // there are slots, each at most its timeout), else 429 at once. No check ever opens a socket beyond it.
            let concurrency = engine.engineSettings.concurrency
            if transfers.count < concurrency && waitingChecks.isEmpty {
                start(id, request, kind: .check(reply))
            } else if waitingChecks.count < concurrency {
                waitingChecks.append(
                    WaitingCheck(
                        id: id, request: request, reply: reply, arrived: now,
                        deadline: now + request.timeoutSeconds))
            } else {
                reply.resume(throwing: busy(request))
            }
        }
    }

    /// Applies the record's current state to the schedule (nil or no target: not probed any more;
    /// `--probe-interval 0`: nothing is probed in the background, only on `check`).
    func refresh(_ id: Int, record: ServiceRecord?, now: Double) {
        let settings = engine.engineSettings
        guard let record, settings.interval > 0, let request = ProbeRequest(record: record, settings: settings) else {
            if schedule.entries[id] != nil {
                schedule.remove(id: id)
                if let handle = scheduledInFlight[id] { abandon(handle) }
                if record == nil { engine.engineStatistics.forget(id: id) }
            }
            return
        }
        if let old = schedule.entries[id]?.request, old.url != request.url, let handle = scheduledInFlight[id] {
            abandon(handle)  // probing the old target no longer means anything
        }
        schedule.upsert(id: id, request: request, interval: settings.defaults.interval(for: record), now: now)
    }

    func start(_ id: Int, _ request: ProbeRequest, kind: Kind) {
        let easy = idle.popLast() ?? CurlEasy()
        easy.prepare(request)
        if request.target.neverResolves {
            // What libcurl would report for a name no resolver knows, without asking one (RFC 6761 §6.4).
            easy.setErrorText("Could not resolve host: the .invalid domain never resolves (RFC 6761); no query was sent")
            transfers[easy.handle] = Transfer(easy: easy, id: id, request: request, kind: kind)
            if case .scheduled = kind { scheduledInFlight[id] = easy.handle }
            complete(easy.handle, code: CURLE_COULDNT_RESOLVE_HOST)
            return
        }
        guard multi.add(easy) else {
            if case .check(let reply) = kind { reply.resume(throwing: ProberUnavailable()) }
            if case .scheduled = kind { schedule.finished(id: id) }
            idle.append(easy)
            return
        }
        transfers[easy.handle] = Transfer(easy: easy, id: id, request: request, kind: kind)
        if case .scheduled = kind { scheduledInFlight[id] = easy.handle }
    }

    func complete(_ handle: UnsafeMutableRawPointer, code: CURLcode) {
        guard let transfer = release(handle) else { return }
        let outcome = transfer.easy.outcome(code: code)
        recycle(transfer.easy)
        let finishedAt = Date()
        var result =
            transfer.request.isTCP
            ? TCPCheck.result(outcome, finishedAt: finishedAt, timeoutSeconds: transfer.request.timeoutSeconds)
            : outcome.result(finishedAt: finishedAt, timeoutSeconds: transfer.request.timeoutSeconds)
        let store = engine.engineStore
        let before = store.record(id: transfer.id)
        // A discovered port that answered but not in HTTP switches to a TCP check of that port (SPEC §9): no
        // false failure is stored, the TCP check runs at once (a `check` waits for it).
        if let before, before.probeTarget == transfer.request.url,
            HTTPCheck.shouldSwitchToTCP(before, probedURL: transfer.request.url, outcome: outcome),
            let switched = switchToTCP(before, reason: result.error),
            let request = ProbeRequest(record: switched, settings: engine.engineSettings)
        {
            if case .check = transfer.kind {
                start(transfer.id, request, kind: transfer.kind)
            } else {
                refresh(transfer.id, record: switched, now: Self.monotonicNow())
            }
            return
        }
        if let before {
            let settings = engine.engineSettings
            result = FlapDamping.apply(
                result, previous: before.lastProbe, rise: before.rise ?? settings.rise,
                fall: before.fall ?? settings.fall)
        }
        // A result for a target the record no longer has is stale (changed while in flight).
        guard let before, before.probeTarget == transfer.request.url, let updated = store.setProbeResult(id: transfer.id, result) else {
            if case .check(let reply) = transfer.kind {
                if let before { reply.resume(returning: before) } else { reply.resume(throwing: RegistryError.notFound) }
            }
            return
        }
        finished.append((transfer.id, result.healthy))
        store.rollups.add(id: transfer.id, at: result.finishedAt, healthy: result.healthy, ms: result.totalSeconds * 1000)
        // A health transition went to the history with the result (`setProbeResult`).
        var changed =
            before.healthStatus != updated.healthStatus || before.lastProbe?.statusCode != result.statusCode
            || before.lastProbe?.error != result.error
        if case .check = transfer.kind { changed = true }
        engine.deliver(id: transfer.id, changed: changed)
        if case .check(let reply) = transfer.kind { reply.resume(returning: updated) }
    }

    /// Records that `record`'s discovered port is checked over TCP from now on (persisted at once; rare, so the
    /// short synchronous commit on this thread is acceptable). Returns the record as saved.
    func switchToTCP(_ record: ServiceRecord, reason: String?) -> ServiceRecord? {
        let switched = try? engine.engineStore.transactionSync { (txn: inout StoreTransaction) -> ServiceRecord? in
            guard var current = txn.record(id: record.id), current.tcpFallbackPort == nil, current.port == record.port else { return nil }
            current.tcpCheckPort = current.port
            try txn.save(current, resetProbe: true)
            return txn.record(id: record.id)
        }
        guard let switched = switched ?? nil else { return nil }
        engine.engineLogger.info(
            "discovered port does not speak HTTP; checking it over TCP",
            metadata: [
                "id": "\(record.id)", "name": "\(record.name)", "port": "\(record.port ?? 0)", "http_error": "\(reason ?? "")",
            ])
        return switched
    }

    /// Ends a transfer without a result (service deleted or retargeted, or shutdown).
    func abandon(_ handle: UnsafeMutableRawPointer) {
        guard let transfer = release(handle) else { return }
        recycle(transfer.easy)
        if case .check(let reply) = transfer.kind { reply.resume(throwing: ProberUnavailable()) }
    }

    private func release(_ handle: UnsafeMutableRawPointer) -> Transfer? {
        guard let transfer = transfers.removeValue(forKey: handle) else { return nil }
        multi.remove(transfer.easy)
        if case .scheduled = transfer.kind, scheduledInFlight[transfer.id] == handle {
            scheduledInFlight[transfer.id] = nil
            schedule.finished(id: transfer.id)
        }
        return transfer
    }

    private func recycle(_ easy: CurlEasy) {
        if idle.count < Self.maxIdleHandles { idle.append(easy) }
    }

    private func publish(now: Double, nextDue: Double?) {
        guard !startLags.isEmpty || !finished.isEmpty || now - lastPublish >= 0.5 else { return }
        lastPublish = now
        let overdue = nextDue.map { max(0, now - $0) } ?? 0
        if let window = engine.engineStatistics.record(
            now: now, startLags: startLags, finished: finished,
            headOverdue: overdue, inFlight: transfers.count)
        {
            engine.engineLogger.debug(
                "probe window",
                metadata: [
                    "seconds": "\(ProbeStatisticsRecorder.windowSeconds)", "started": "\(window.started)",
                    "finished": "\(window.finished)", "failed": "\(window.failed)",
                    "lag_p50": "\(window.lagP50)", "lag_p99": "\(window.lagP99)", "lag_max": "\(window.lagMax)",
                    "in_flight": "\(transfers.count)", "services": "\(schedule.count)",
                ])
        }
        startLags.removeAll(keepingCapacity: true)
        finished.removeAll(keepingCapacity: true)
    }

    private var lastPublish = 0.0
}
