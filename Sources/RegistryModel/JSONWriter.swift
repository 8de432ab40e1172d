import Foundation

/// A minimal, fast JSON writer into a byte array. Responses are written with it rather than `JSONEncoder`:
/// key order is stable and the hot list route does not pay for reflection.
public struct JSONWriter: Sendable {
    public private(set) var bytes: [UInt8] = []
    /// One flag per open container: whether a member was written, so the next needs a comma.
    private var needsComma: [Bool] = []

    public init(capacity: Int = 256) { bytes.reserveCapacity(capacity) }

    /// Empties the writer, keeping its capacity.
    public mutating func reset() {
        bytes.removeAll(keepingCapacity: true)
        needsComma.removeAll(keepingCapacity: true)
    }

    public mutating func beginObject() {
        bytes.append(UInt8(ascii: "{"))
        needsComma.append(false)
    }
    public mutating func endObject() {
        bytes.append(UInt8(ascii: "}"))
        needsComma.removeLast()
    }
    public mutating func beginArray() {
        bytes.append(UInt8(ascii: "["))
        needsComma.append(false)
    }
    public mutating func endArray() {
        bytes.append(UInt8(ascii: "]"))
        needsComma.removeLast()
    }

    /// Separates array elements; call before each element.
    public mutating func comma() {
        if needsComma.last == true { bytes.append(UInt8(ascii: ",")) }
        if !needsComma.isEmpty { needsComma[needsComma.count - 1] = true }
    }

    public mutating func key(_ key: String) {
        comma()
        string(key)
        bytes.append(UInt8(ascii: ":"))
    }

    public mutating func null() { bytes.append(contentsOf: "null".utf8) }
    public mutating func bool(_ value: Bool) { bytes.append(contentsOf: value ? "true".utf8 : "false".utf8) }

    /// Decimal digits written straight into the buffer (no intermediate String).
    public mutating func int(_ value: Int) {
        if value < 0 {
            guard value != .min else {
                bytes.append(contentsOf: String(value).utf8)
                return
            }
            bytes.append(UInt8(ascii: "-"))
        }
        appendDigits(UInt(value.magnitude), minimumWidth: 1)
    }

    private mutating func appendDigits(_ value: UInt, minimumWidth: Int) {
        var digits:
            (
                UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8,
                UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8
            ) =
                (0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)
        var count = 0
        var v = value
        withUnsafeMutableBytes(of: &digits) { buffer in
            repeat {
                buffer[19 - count] = UInt8(ascii: "0") + UInt8(v % 10)
                v /= 10
                count += 1
            } while v > 0 || count < minimumWidth
            bytes.append(contentsOf: buffer[(20 - count)...])
        }
    }

    /// An RFC 3339 UTC timestamp with second precision, as a JSON string: `"2026-11-28T10:30:00Z"`.
    public mutating func timestamp(_ date: Date) {
        var seconds = time_t(date.timeIntervalSince1970.rounded(.down))
        var parts = tm()
        gmtime_r(&seconds, &parts)
        bytes.append(UInt8(ascii: "\""))
        appendDigits(UInt(parts.tm_year + 1900), minimumWidth: 4)
        bytes.append(UInt8(ascii: "-"))
        appendDigits(UInt(parts.tm_mon + 1), minimumWidth: 2)
        bytes.append(UInt8(ascii: "-"))
        appendDigits(UInt(parts.tm_mday), minimumWidth: 2)
        bytes.append(UInt8(ascii: "T"))
        appendDigits(UInt(parts.tm_hour), minimumWidth: 2)
        bytes.append(UInt8(ascii: ":"))
        appendDigits(UInt(parts.tm_min), minimumWidth: 2)
        bytes.append(UInt8(ascii: ":"))
        appendDigits(UInt(parts.tm_sec), minimumWidth: 2)
        bytes.append(contentsOf: "Z\"".utf8)
    }

    public mutating func number(_ value: Double) {
        if !value.isFinite {
            null()
            return
        }
        if value == value.rounded(), abs(value) < 1e15 {
            int(Int(value))
        } else {
            bytes.append(contentsOf: value.description.utf8)
        }
    }

    /// A raw, already-encoded JSON fragment (e.g. a cached record).
    public mutating func raw(_ fragment: [UInt8]) { bytes.append(contentsOf: fragment) }

    public mutating func string(_ value: String) {
        bytes.append(UInt8(ascii: "\""))
        // Fast path: most strings need no escaping and are copied in one go.
        if value.utf8.allSatisfy({
            $0 >= 0x20 && $0 != UInt8(ascii: "\"") && $0 != UInt8(ascii: "\\")
                && $0 != UInt8(ascii: "<") && $0 != UInt8(ascii: ">") && $0 != UInt8(ascii: "&")
        }) {
            bytes.append(contentsOf: value.utf8)
            bytes.append(UInt8(ascii: "\""))
            return
        }
        for byte in value.utf8 {
            switch byte {
            case UInt8(ascii: "\""): bytes.append(contentsOf: [0x5C, 0x22])
            case UInt8(ascii: "\\"): bytes.append(contentsOf: [0x5C, 0x5C])
            case 0x0A: bytes.append(contentsOf: [0x5C, UInt8(ascii: "n")])
            case 0x0D: bytes.append(contentsOf: [0x5C, UInt8(ascii: "r")])
            case 0x09: bytes.append(contentsOf: [0x5C, UInt8(ascii: "t")])
            case 0..<0x20:
                let hex = Array("0123456789abcdef".utf8)
                bytes.append(contentsOf: [0x5C, UInt8(ascii: "u"), 0x30, 0x30, hex[Int(byte >> 4)], hex[Int(byte & 0xF)]])
            case UInt8(ascii: "<"), UInt8(ascii: ">"), UInt8(ascii: "&"):
                // Escaped so JSON embedded in HTML can never close a <script> element.
                let hex = Array("0123456789abcdef".utf8)
                bytes.append(contentsOf: [0x5C, UInt8(ascii: "u"), 0x30, 0x30, hex[Int(byte >> 4)], hex[Int(byte & 0xF)]])
            default: bytes.append(byte)
            }
        }
        bytes.append(UInt8(ascii: "\""))
    }

    public mutating func optional(_ value: String?) { if let value { string(value) } else { null() } }
    public mutating func optional(_ value: Date?) { if let value { timestamp(value) } else { null() } }
    public mutating func optional(_ value: Int?) { if let value { int(value) } else { null() } }
    public mutating func optional(_ value: Double?) { if let value { number(value) } else { null() } }
}
