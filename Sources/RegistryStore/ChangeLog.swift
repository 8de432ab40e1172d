import Foundation
import RegistrySupport
import Synchronization

/// The store's recent changes in version order, which `GET /api/events` streams and resumes from (SPEC §10).
///
/// An entry holds only the version, the id and the kind (16 bytes), never the record: a subscriber sends the record
/// as it is when the entry is read, so a slow reader costs a position in this log, not a buffer of its own, and a
/// reader that falls behind what the log keeps gets `reset` instead of unbounded memory.
///
/// Retention: at least the last 10,000 changes or the last 5 minutes of them, whichever is more, and never more than
/// `maximumEntries` (16 MB), so a flood of writes cannot grow the daemon without bound.
///
/// Consolidation: a reader sends each service once per batch, as it is now, so of a service's entries only its last
/// one tells a reader anything. When the log has doubled since it was last consolidated, entries older than the last
/// `minimumEntries` that a later entry of the same service supersedes are dropped (a visible change among them makes
/// the survivor an `upsert`). A reader resuming from any position the log reaches back to gets what it would have got
/// before: every service changed since, once, as it is now. The log then holds about one entry per service changed in
/// the 5 minutes (100,000 probed services: about 3 MB, not the 8-16 MB of 500,000 timing entries).
public final class ChangeLog: Sendable {
    public enum Kind: UInt8, Sendable {
        /// A change a reader can see: created, edited, health or status moved.
        case upsert
        /// A probe result that changed only timings (response time, phases, when it was checked).
        case timings
        case delete
    }

    /// 16 bytes: a 5-minute log at 1,667 probes a second (100,000 services every 60 s) is 8 MB.
    public struct Entry: Sendable, Equatable {
        /// The version in the low 62 bits (versions are microseconds since 1970: about 2^51), the kind in the top two.
        private let packed: UInt64
        /// Ids are assigned one by one from 1: four billion creations are out of reach.
        private let id32: UInt32
        /// When it was logged, for the age rule (seconds on the log's monotonic clock; Float is exact enough for it).
        package let at: Float

        package init(version: UInt64, id: Int, kind: Kind, at: Double) {
            packed = (version & Self.versionMask) | UInt64(kind.rawValue) << 62
            id32 = UInt32(truncatingIfNeeded: id)
            self.at = Float(at)
        }

        /// The same change, of another kind (consolidation turns a timing entry into an upsert).
        func with(kind: Kind) -> Entry { Entry(version: version, id: id, kind: kind, at: Double(at)) }

        private static let versionMask: UInt64 = (1 << 62) - 1
        public var version: UInt64 { packed & Self.versionMask }
        public var id: Int { Int(id32) }
        public var kind: Kind { Kind(rawValue: UInt8(packed >> 62))! }
    }

    /// What a reader positioned at `since` gets.
    public enum Read: Sendable, Equatable {
        /// The entries after `since`, oldest first (possibly none), and the position to read from next.
        case entries([Entry], next: UInt64)
        /// The log no longer reaches back to `since` (or `since` is ahead of it): re-list, then read from `latest`.
        case reset(latest: UInt64)
        /// The daemon is shutting down.
        case closed
    }

    public struct Retention: Sendable {
        public var minimumEntries = 10_000
        public var minimumSeconds = 300.0
        public var maximumEntries = 1_000_000
        public init() {}
    }

    private struct State {
        var entries: [Entry] = []
        /// Index of the oldest live entry in `entries` (dropped entries are compacted away in bulk).
        var head = 0
        /// Readers positioned at `floor` or later can be served; before it the log has dropped changes.
        var floor: UInt64
        var latest: UInt64
        var closed = false
        /// Timing-only changes (SPEC §10: at most one `timings` entry per service per second).
        var lastTimingEntry: [Int: Double] = [:]
        var deferredTimings: Set<Int> = []
        /// `lastTimingEntry` is pruned of entries over a second old when it reaches this size (then doubles it).
        var pruneTimingsAt = 4096
        var flushScheduled = false
        /// The live entries at which the log is next consolidated (twice what the last consolidation kept).
        var consolidateAt: Int
    }

    /// Consolidation starts at no fewer live entries than this (a small log is left verbatim).
    static let minimumConsolidationSize = 1 << 16

    private let state: Mutex<State>
    private let retention: Retention
    private let clockStart = ContinuousClock.now
    /// Appends the deferred timing changes (the store bumps its version for each); set once by the store.
    private let flushHandler = Mutex<(@Sendable ([Int]) -> Void)?>(nil)

    package init(startVersion: UInt64, retention: Retention = Retention()) {
        self.retention = retention
        state = Mutex(
            State(floor: startVersion, latest: startVersion, consolidateAt: max(Self.minimumConsolidationSize, 2 * retention.minimumEntries)))
    }

    func onFlush(_ handler: @escaping @Sendable ([Int]) -> Void) { flushHandler.withLock { $0 = handler } }

    package var now: Double {
        let elapsed = ContinuousClock.now - clockStart
        return Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) * 1e-18
    }

    /// The version of the newest change.
    public var latest: UInt64 { state.withLock { $0.latest } }

    public var count: Int { state.withLock { $0.entries.count - $0.head } }

    /// Logs a change at `version` (the store's, after the change). Called with the store's snapshot lock held, so
    /// entries are in version order.
    package func append(id: Int, kind: Kind, version: UInt64) {
        state.withLock { state in
            guard !state.closed, version > state.latest else { return }
            let at = now
            if kind == .timings {
                if let last = state.lastTimingEntry[id], at - last < 1 {
                    // No entry now, but the log is at the store's version: a reader positioned there (from a list's
                    // `X-Registry-Index`) is current, not ahead.
                    state.latest = version
                    state.deferredTimings.insert(id)
                    scheduleFlush(&state, after: 1 - (at - last))
                    return
                }
                state.lastTimingEntry[id] = at
            } else {
                // A visible change carries the timings too: the next timing-only change may follow a second later.
                state.lastTimingEntry[id] = at
                state.deferredTimings.remove(id)
            }
            state.entries.append(Entry(version: version, id: id, kind: kind, at: at))
            state.latest = version
            trim(&state, at: at)
        }
    }

    public func read(after since: UInt64, limit: Int = 1000) -> Read {
        state.withLock { state in
            if state.closed { return .closed }
            if since < state.floor || since > state.latest { return .reset(latest: state.latest) }
            let low = state.entries[state.head...].partitioningIndex { $0.version > since }
            let end = min(state.entries.count, low + limit)
            let slice = Array(state.entries[low..<end])
            return .entries(slice, next: end == state.entries.count ? state.latest : slice.last!.version)
        }
    }

    /// Ends every reader (graceful shutdown: open event streams finish so the server can drain).
    public func close() { state.withLock { $0.closed = true } }

    public var isClosed: Bool { state.withLock { $0.closed } }

    private func trim(_ state: inout State, at: Double) {
        var live = state.entries.count - state.head
        while live > retention.minimumEntries {
            let oldest = state.entries[state.head]
            guard live > retention.maximumEntries || at - Double(oldest.at) > retention.minimumSeconds else { break }
            state.floor = oldest.version
            state.head += 1
            live -= 1
        }
        if live > state.consolidateAt {
            consolidate(&state)
            live = state.entries.count
        }
        // Compact once the dropped prefix is half as large as what is kept (amortised O(1) per entry, at most 1.5× the
        // live entries held).
        if state.head > 4096 && state.head * 2 >= live {
            state.entries.removeFirst(state.head)
            state.head = 0
        }
        if state.lastTimingEntry.count >= state.pruneTimingsAt {
            state.lastTimingEntry = state.lastTimingEntry.filter { at - $0.value < 1 }
            state.pruneTimingsAt = max(4096, 2 * state.lastTimingEntry.count)
        }
    }

    /// Drops the entries older than the last `minimumEntries` that a later entry of the same service supersedes, and
    /// starts the log over in an array sized for the next doubling. O(live entries), once per doubling.
    private func consolidate(_ state: inout State) {
        let live = state.entries[state.head...]
        let verbatimFrom = max(state.head, state.entries.count - retention.minimumEntries)
        let ids = IDSet.Bounds(live.lazy.map(\.id))
        var seen = IDSet(ids)
        var visibleDropped = IDSet(ids)
        var keptNewestFirst: [Entry] = []
        keptNewestFirst.reserveCapacity(live.count / 2)
        for index in live.indices.reversed() {
            let entry = state.entries[index]
            if index < verbatimFrom && seen.contains(entry.id) {
                if entry.kind != .timings { visibleDropped.insert(entry.id) }
            } else {
                seen.insert(entry.id)
                keptNewestFirst.append(entry)
            }
        }
        var upgraded = IDSet(ids)
        var entries: [Entry] = []
        entries.reserveCapacity(max(Self.minimumConsolidationSize, 2 * keptNewestFirst.count))
        for index in keptNewestFirst.indices.reversed() { entries.append(keptNewestFirst[index]) }
        keptNewestFirst = []
        // The newest entry of a service whose dropped entries held a visible change carries it.
        for index in entries.indices.reversed() where !upgraded.contains(entries[index].id) {
            upgraded.insert(entries[index].id)
            if entries[index].kind == .timings && visibleDropped.contains(entries[index].id) {
                entries[index] = entries[index].with(kind: .upsert)
            }
        }
        state.entries = entries
        state.head = 0
        state.consolidateAt = max(Self.minimumConsolidationSize, 2 * retention.minimumEntries, 2 * entries.count)
    }

    /// A set of service ids: a bitmap over the ids' range when it is dense enough (ids are assigned one by one, so it
    /// is), a hash set otherwise.
    private struct IDSet {
        private let low: Int
        private var bits: [UInt64]
        private var other: Set<Int> = []

        struct Bounds {
            var low = Int.max
            var high = Int.min
            var count = 0

            init(_ ids: some Sequence<Int>) {
                for id in ids {
                    low = min(low, id)
                    high = max(high, id)
                    count += 1
                }
            }
        }

        init(_ ids: Bounds) {
            let dense = ids.count > 0 && ids.high - ids.low < 64 * ids.count
            low = dense ? ids.low : 0
            bits = dense ? [UInt64](repeating: 0, count: (ids.high - ids.low) / 64 + 1) : []
        }

        func contains(_ id: Int) -> Bool {
            let offset = id - low
            guard offset >= 0, offset / 64 < bits.count else { return other.contains(id) }
            return bits[offset / 64] & (1 << (offset % 64)) != 0
        }

        mutating func insert(_ id: Int) {
            let offset = id - low
            guard offset >= 0, offset / 64 < bits.count else {
                other.insert(id)
                return
            }
            bits[offset / 64] |= 1 << (offset % 64)
        }
    }

    private func scheduleFlush(_ state: inout State, after delay: Double) {
        guard !state.flushScheduled else { return }
        state.flushScheduled = true
        DispatchQueue.global().asyncAfter(deadline: .now() + max(0.01, delay)) { [weak self] in self?.flush() }
    }

    /// Logs the deferred timing changes that are a second past their service's previous entry; the others wait.
    private func flush() {
        let due: [Int] = state.withLock { state in
            state.flushScheduled = false
            if state.closed { return [] }
            let at = now
            var due: [Int] = []
            var wait = 1.0
            for id in state.deferredTimings {
                let since = at - (state.lastTimingEntry[id] ?? 0)
                if since >= 1 { due.append(id) } else { wait = min(wait, 1 - since) }
            }
            for id in due {
                state.deferredTimings.remove(id)
                state.lastTimingEntry[id] = nil
            }
            if !state.deferredTimings.isEmpty { scheduleFlush(&state, after: wait) }
            return due.sorted()
        }
        if !due.isEmpty, let handler = flushHandler.withLock({ $0 }) { handler(due) }
    }
}
