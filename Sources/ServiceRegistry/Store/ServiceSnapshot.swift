/// An immutable view of every record at one moment, ordered by id. Reads never touch LMDB.
public struct ServiceSnapshot: Sendable {
    /// One immutable record, boxed. The dictionary then holds a pointer per bucket rather than a 336-byte
    /// record: its spare buckets (a quarter to a half of them) cost 8 bytes each, which saves about 1.7 MB
    /// at 10,000 services, and the copy a write makes while a reader holds the snapshot is 20 times smaller.
    final class Entry: Sendable {
        let record: ServiceRecord
        init(_ record: ServiceRecord) { self.record = record }
    }

    var entries: [Int: Entry]
    /// Ids in ascending order (new ids are always the largest, so creation appends).
    var order: [Int]
    var byName: [String: Int]
    /// Bumped on every change; keys the cached list body.
    public internal(set) var version: UInt64
    /// Shared by the copies of this snapshot and of the snapshots it becomes (`summary`).
    let summaryCache = ServiceSummaryCache()

    public var count: Int { order.count }
    public var records: [ServiceRecord] { order.map { entries[$0]!.record } }
    /// Each record in id order, without copying them all into an array first.
    public func forEachRecord(_ body: (ServiceRecord) throws -> Void) rethrows { for id in order { try body(entries[id]!.record) } }
    public func record(id: Int) -> ServiceRecord? { entries[id]?.record }
    public func record(named name: String) -> ServiceRecord? { byName[name].flatMap { entries[$0]?.record } }

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
        var index = 0
        if let after {
            var high = order.count
            while index < high {
                let middle = (index + high) / 2
                if order[middle] <= after { index = middle + 1 } else { high = middle }
            }
        }
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

    mutating func put(_ record: ServiceRecord) { put(Entry(record)) }

    /// `put` of a record already boxed (the store's start boxes them on every core).
    mutating func put(_ entry: Entry) {
        let record = entry.record
        if let old = entries[record.id]?.record, old.name != record.name { byName[old.name] = nil }
        if entries[record.id] == nil {
            if let last = order.last, last > record.id {
                order.insert(record.id, at: order.firstIndex { $0 > record.id }!)
            } else {
                order.append(record.id)
            }
        }
        entries[record.id] = entry
        byName[record.name] = record.id
        version &+= 1
    }

    mutating func remove(id: Int) {
        guard let old = entries.removeValue(forKey: id)?.record else { return }
        byName[old.name] = nil
        if let index = order.firstIndex(of: id) { order.remove(at: index) }
        version &+= 1
    }
}

/// Counts by health, status and source: `GET /api/summary` and the dashboard's counts (SPEC §10).
public struct ServiceSummary: Sendable, Equatable {
    public var total = 0
    public var health: [HealthStatus: Int] = [:]
    public var status: [ServiceStatus: Int] = [:]
    public var source: [ServiceSource: Int] = [:]

    public init(_ snapshot: ServiceSnapshot) {
        total = snapshot.count
        // Counted in arrays by case, the boxed records visited in place (no id lookups, no record copies).
        var health = [Int](repeating: 0, count: HealthStatus.allCases.count)
        var status = [Int](repeating: 0, count: ServiceStatus.allCases.count)
        var source = [Int](repeating: 0, count: ServiceSource.allCases.count)
        for entry in snapshot.entries.values {
            health[HealthStatus.allCases.firstIndex(of: entry.record.healthStatus)!] += 1
            status[ServiceStatus.allCases.firstIndex(of: entry.record.status)!] += 1
            source[ServiceSource.allCases.firstIndex(of: entry.record.source)!] += 1
        }
        for (index, count) in health.enumerated() where count > 0 { self.health[HealthStatus.allCases[index]] = count }
        for (index, count) in status.enumerated() where count > 0 { self.status[ServiceStatus.allCases[index]] = count }
        for (index, count) in source.enumerated() where count > 0 { self.source[ServiceSource.allCases[index]] = count }
    }
}
