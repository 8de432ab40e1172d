import Testing

@testable import RegistrySupport

/// The one binary search: against a linear scan, on every length up to 40 and every split point, and on slices
/// (the change log searches from its head).
@Suite struct PartitioningIndexTests {
    @Test func equalsTheFirstIndexALinearScanFinds() {
        for length in 0...40 {
            let values = Array(0..<length)
            for split in -1...(length + 1) {
                #expect(values.partitioningIndex { $0 >= split } == (values.firstIndex { $0 >= split } ?? values.endIndex))
            }
        }
    }

    @Test func searchesSlicesInTheirOwnIndices() {
        let values = [1, 3, 3, 5, 8, 13, 21]
        for head in 0...values.count {
            let slice = values[head...]
            for bound in 0...22 {
                #expect(slice.partitioningIndex { $0 > bound } == (slice.firstIndex { $0 > bound } ?? slice.endIndex))
            }
        }
    }
}
