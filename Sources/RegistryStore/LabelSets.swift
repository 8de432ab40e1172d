import Synchronization

/// Services of a fleet mostly share their label sets (`team`, `env`, ...). Each record's labels are a dictionary of
/// their own, 136 bytes or more even for one label; records whose labels are equal share one dictionary here
/// (13.6 MB at 100,000 services with one label set). Only what enters the snapshot from a write or a load is
/// interned; a probe result keeps the record's dictionary.
///
/// Bounded: at `capacity` distinct sets the table is emptied and starts over, so labels unique to each service
/// (or a client inventing new ones) cost at most that many dictionaries kept alive, never a growing table.
package final class LabelSets: Sendable {
    package static let capacity = 4096
    private let seen = Mutex(Set<[String: String]>())

    package init() {}

    /// `labels`, or an equal dictionary seen before (sharing its storage).
    package func intern(_ labels: [String: String]) -> [String: String] {
        if labels.isEmpty { return labels }
        return seen.withLock { seen in
            if seen.count >= Self.capacity, !seen.contains(labels) { seen.removeAll() }
            return seen.insert(labels).memberAfterInsert
        }
    }

    package var count: Int { seen.withLock { $0.count } }
}
