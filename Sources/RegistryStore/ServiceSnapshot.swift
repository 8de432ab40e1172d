import HashTreeCollections
import RegistryModel
import RegistrySupport

/// An immutable view of every record at one moment, ordered by id. Reads never touch LMDB.
public struct ServiceSnapshot: Sendable {
    /// One immutable record, boxed. The dictionary then holds a pointer per bucket rather than a 336-byte
    /// record: its spare buckets (a quarter to a half of them) cost 8 bytes each, which saves about 1.7 MB
    /// at 10,000 services, and the copy a write makes while a reader holds the snapshot is 20 times smaller.
    package final class Entry: Sendable {
        package let record: ServiceRecord
        package init(_ record: ServiceRecord) { self.record = record }
    }

    /// Persistent (hash-array-mapped trie) dictionaries rather than `Dictionary`: readers take a copy of the
    /// snapshot, and a write while a copy is held then copies only the path to the changed key (a few small nodes),
    /// not the whole table. With `Dictionary`, every probe result and every commit that met a reader copied all
    /// 100,000 entries and names under the lock: pages waited on it (p99 15 ms) and RSS swung by tens of MB.
    package var entries: TreeDictionary<Int, Entry>
    /// Ids in ascending order (new ids are always the largest, so creation appends).
    package var order: [Int]
    var byName: TreeDictionary<String, Int>
    /// Bumped on every change; keys the cached list body.
    public internal(set) var version: UInt64
    /// Counts by health, status and source, kept up to date by `put` and `remove`, so `/api/summary` and the
    /// dashboard's counts cost the same at any registry size (walking 100,000 records took 70-180 ms).
    public internal(set) var summary = ServiceSummary()

    public var count: Int { order.count }
    public var records: [ServiceRecord] { order.map { entries[$0]!.record } }
    /// Each record in id order, without copying them all into an array first.
    public func forEachRecord(_ body: (ServiceRecord) throws -> Void) rethrows { for id in order { try body(entries[id]!.record) } }
    public func record(id: Int) -> ServiceRecord? { entries[id]?.record }
    public func record(named name: String) -> ServiceRecord? { byName[name].flatMap { entries[$0]?.record } }
    /// Every boxed record, in no particular order: for passes over all of them that need no order.
    package var unorderedEntries: some Collection<Entry> { entries.values }

    /// Visits the API JSON of each record that matches, in id order. Records are encoded on the fly
    /// (about a microsecond each) rather than cached: at 10,000 services a cache costs megabytes.
    public func forEachJSON(_ filter: ServiceFilter = ServiceFilter(), _ body: ([UInt8]) -> Void) {
        var writer = JSONWriter(capacity: 1024)
        for id in order {
            let record = entries[id]!.record
            guard filter.isEmpty || filter.matches(record) else { continue }
            writer.reset()
            record.writeJSON(to: &writer)
            body(writer.bytes)
        }
    }

    /// Visits the JSON of the records that match with an id above `after`, in id order, at most `limit` of them.
    /// Answers the id of the last one visited when more matching records follow it (the next page's `after`).
    /// Cost follows the page, not the registry: the start is found by binary search.
    public func forEachJSON(_ filter: ServiceFilter, after: Int?, limit: Int?, _ body: ([UInt8]) -> Void) -> Int? {
        var index = after.map { after in order.partitioningIndex { $0 > after } } ?? 0
        var writer = JSONWriter(capacity: 1024)
        var visited = 0
        var lastVisited: Int?
        while index < order.count {
            let id = order[index]
            index += 1
            let record = entries[id]!.record
            guard filter.isEmpty || filter.matches(record) else { continue }
            if let limit, visited == limit { return lastVisited }
            writer.reset()
            record.writeJSON(to: &writer)
            body(writer.bytes)
            visited += 1
            lastVisited = id
        }
        return nil
    }

    package mutating func put(_ record: ServiceRecord) { put(Entry(record)) }

    /// `put` of a record already boxed (the store's start boxes them on every core).
    package mutating func put(_ entry: Entry) {
        let record = entry.record
        if let old = entries[record.id]?.record {
            if old.name != record.name { byName[old.name] = nil }
            summary.count(old, by: -1)
        } else if let last = order.last, last > record.id {
            order.insert(record.id, at: orderIndex(of: record.id))
        } else {
            order.append(record.id)
        }
        summary.count(record, by: 1)
        entries[record.id] = entry
        // Most puts keep the name (probe results): leave the name index alone, shared with the readers' copies.
        if byName[record.name] != record.id { byName[record.name] = record.id }
        version &+= 1
    }

    package mutating func remove(id: Int) {
        guard let old = entries.removeValue(forKey: id)?.record else { return }
        byName[old.name] = nil
        let index = orderIndex(of: id)
        if index < order.count, order[index] == id { order.remove(at: index) }
        summary.count(old, by: -1)
        version &+= 1
    }

    /// The position of `id` in `order`, or where it would go (`order` is ascending).
    private func orderIndex(of id: Int) -> Int { order.partitioningIndex { $0 >= id } }
}

/// Counts by health, status and source: `GET /api/summary` and the dashboard's counts (SPEC §10). A snapshot keeps
/// its own (`ServiceSnapshot.summary`); a key whose count falls to zero is removed, so equal counts compare equal.
public struct ServiceSummary: Sendable, Equatable {
    public private(set) var total = 0
    public private(set) var health: [HealthStatus: Int] = [:]
    public private(set) var status: [ServiceStatus: Int] = [:]
    public private(set) var source: [ServiceSource: Int] = [:]

    public init() {}

    /// The counts of `records`, by walking them (the reference the snapshot's running counts are tested against).
    public init(counting records: some Sequence<ServiceRecord>) {
        for record in records { count(record, by: 1) }
    }

    package mutating func count(_ record: ServiceRecord, by delta: Int) {
        func add<Key: Hashable>(_ key: Key, _ counts: inout [Key: Int]) {
            let value = counts[key, default: 0] + delta
            counts[key] = value == 0 ? nil : value
        }
        total += delta
        add(record.healthStatus, &health)
        add(record.status, &status)
        add(record.source, &source)
    }
}
