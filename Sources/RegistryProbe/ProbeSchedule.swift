import HashTreeCollections
import HeapModule
import RegistryModel

/// When each service is next due: a min-heap of due times over the services' probe settings.
///
/// Pure data (times are plain seconds on a monotonic clock), driven by the engine's thread; the heap is
/// also the queue of due probes waiting for a free slot, so nothing due is ever dropped.
struct ProbeSchedule {
    package struct Entry {
        package var request: ProbeRequest
        package var interval: Double
        package var due: Double
        /// Bumped when the entry is rescheduled; heap items of older generations are stale.
        package var generation: UInt32
        package var inFlight = false
    }

    struct Due: Equatable {
        package var id: Int
        package var request: ProbeRequest
        package var due: Double
    }

    /// A hash trie rather than a `Dictionary`: it keeps no spare buckets. A `Dictionary` of 100,000 entries has 262,144
    /// buckets of 112 bytes (29 MB); this holds the 100,000 (about 12 MB). The schedule is touched a few times per
    /// probe, where the trie's slower access costs nothing measurable.
    private(set) var entries: TreeDictionary<Int, Entry> = [:]
    private var heap = Heap<ScheduleItem>()

    package var count: Int { entries.count }

    /// Where in its interval a service's probes fall: a fixed fraction in [0, 1) derived from its id,
    /// so 10,000 services registered at once are spread evenly and a restart keeps the same spread.
    package static func phase(of id: Int) -> Double {
        var z = UInt64(bitPattern: Int64(id)) &+ 0x9E37_79B9_7F4A_7C15
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        z ^= z >> 31
        return Double(z >> 11) / Double(1 << 53)
    }

    /// Adds a service, or applies changed settings. A new service is first due at its phase within one
    /// interval from now; a changed target is due at once; a shorter interval takes effect at once.
    /// The interval is brought within `ProbeDefaults.intervalBounds` whatever it is (SPEC §12), so every turn
    /// moves a service at least a second ahead and the loop can never spin on one entry.
    package mutating func upsert(id: Int, request: ProbeRequest, interval: Double, now: Double) {
        let interval = ProbeDefaults.schedulable(interval: interval)
        if var entry = entries[id] {
            guard entry.request != request || entry.interval != interval else { return }
            var due = entry.due
            if entry.request.url != request.url || entry.request.followRedirects != request.followRedirects { due = now }
            due = min(due, now + interval)
            entry.request = request
            entry.interval = interval
            reschedule(id: id, &entry, due: due)
            entries[id] = entry
        } else {
            var entry = Entry(request: request, interval: interval, due: 0, generation: 0)
            reschedule(id: id, &entry, due: now + Self.phase(of: id) * interval)
            entries[id] = entry
        }
    }

    package mutating func remove(id: Int) {
        entries[id] = nil
    }

    /// The earliest due time, dropping stale heap items.
    mutating func nextDue() -> Double? {
        while let top = heap.min {
            if let entry = entries[top.id], entry.generation == top.generation { return top.due }
            heap.removeMin()
        }
        return nil
    }

    /// Takes the next probe due at or before `now`, marks it in flight and schedules the one after
    /// (fixed rate from the due time, so lag does not accumulate). A service whose previous probe is
    /// still running (timeout longer than interval) skips this turn.
    mutating func popDue(now: Double) -> Due? {
        while let due = nextDue(), due <= now {
            let top = heap.removeMin()
            var entry = entries[top.id]!
            var next = top.due + entry.interval
            // More than a whole interval behind (overload): resume from now instead of a burst of catch-ups.
            // The interval is at least a second, so `next` is always later than `now`.
            if next <= now { next = now + entry.interval }
            let wasInFlight = entry.inFlight
            entry.inFlight = true
            reschedule(id: top.id, &entry, due: next)
            entries[top.id] = entry
            if wasInFlight { continue }
            return Due(id: top.id, request: entry.request, due: top.due)
        }
        return nil
    }

    /// The probe of `id` finished (or was abandoned).
    package mutating func finished(id: Int) {
        entries[id]?.inFlight = false
    }

    private mutating func reschedule(id: Int, _ entry: inout Entry, due: Double) {
        entry.generation &+= 1
        entry.due = due
        heap.insert(ScheduleItem(due: due, id: id, generation: entry.generation))
    }
}

/// A heap item: (due, id, generation), ordered by due time then id.
struct ScheduleItem: Comparable {
    package var due: Double
    package var id: Int
    package var generation: UInt32

    package static func < (a: ScheduleItem, b: ScheduleItem) -> Bool { a.due < b.due || (a.due == b.due && a.id < b.id) }
}
