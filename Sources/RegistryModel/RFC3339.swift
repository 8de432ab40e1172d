import Foundation

/// RFC 3339 UTC timestamps with second precision (`2026-11-28T10:30:00Z`), as SPEC §1 shows them.
public enum RFC3339 {
    public static func format(_ date: Date) -> String {
        var writer = JSONWriter(capacity: 24)
        writer.timestamp(date)
        return String(decoding: writer.bytes.dropFirst().dropLast(), as: UTF8.self)  // without the quotes
    }
}
