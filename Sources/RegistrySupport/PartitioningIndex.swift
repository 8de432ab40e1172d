extension RandomAccessCollection {
    /// The first index whose element satisfies `belongsInSecondPartition`, in a collection partitioned by it (every
    /// element that satisfies it follows every element that does not); `endIndex` when none does. A binary search:
    /// the one the sorted id lists, the change log and the dashboard's page window all use. Named and defined as
    /// swift-algorithms' `partitioningIndex(where:)`, which is not a dependency for this one function.
    package func partitioningIndex(where belongsInSecondPartition: (Element) throws -> Bool) rethrows -> Index {
        var low = startIndex
        var count = self.count
        while count > 0 {
            let half = count / 2
            let middle = index(low, offsetBy: half)
            if try belongsInSecondPartition(self[middle]) {
                count = half
            } else {
                low = index(after: middle)
                count -= half + 1
            }
        }
        return low
    }
}
