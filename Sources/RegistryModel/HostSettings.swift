/// Value types that several layers share (discovery reads them, configuration sets them): they live at the bottom.

public enum SystemdScope: String, Sendable, CaseIterable {
    case system, user
}

/// A set of TCP ports given as `80,443,3000-9999`.
public struct PortRange: Sendable, Equatable, CustomStringConvertible {
    public var ranges: [ClosedRange<Int>]

    public static let defaultWeb = PortRange(ranges: [80...80, 443...443, 3000...9999])

    public init(ranges: [ClosedRange<Int>]) { self.ranges = ranges }

    public init?(parsing text: String) {
        var ranges: [ClosedRange<Int>] = []
        for part in text.split(separator: ",") {
            let bounds = part.split(separator: "-", omittingEmptySubsequences: false).map { Int($0.trimmingCharacters(in: .whitespaces)) }
            switch bounds.count {
            case 1:
                guard let p = bounds[0], (1...65535).contains(p) else { return nil }
                ranges.append(p...p)
            case 2:
                guard let a = bounds[0], let b = bounds[1], 1 <= a, a <= b, b <= 65535 else { return nil }
                ranges.append(a...b)
            default: return nil
            }
        }
        if ranges.isEmpty { return nil }
        self.ranges = ranges
    }

    public func contains(_ port: Int) -> Bool { ranges.contains { $0.contains(port) } }

    public var description: String {
        ranges.map { $0.count == 1 ? "\($0.lowerBound)" : "\($0.lowerBound)-\($0.upperBound)" }.joined(separator: ",")
    }
}
