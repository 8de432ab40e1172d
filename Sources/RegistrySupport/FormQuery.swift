/// Query strings decoded the way HTML forms encode them (`application/x-www-form-urlencoded`, SPEC §2):
/// pairs separated by `&`, name and value split at the first `=`, `+` is a space, `%XX` is a byte, and the
/// bytes are UTF-8. Names are decoded too (`health%5Fstatus` is `health_status`). An invalid escape (`%zz`,
/// a truncated `%4`) or bytes that are not UTF-8 leave that component as it was sent, with `+` still read as
/// a space. Empty pairs (`a=1&&b=2`) are skipped; a pair without `=` has an empty value.
///
/// Hummingbird's `uri.queryParameters` does not turn `+` into a space, so every query reader goes through
/// this (`Request.queryPairs`).
public enum FormQuery {
    /// The pairs of a raw query string (the part after `?`, without the `#fragment`), in order.
    public static func pairs(_ query: Substring) -> [(String, String)] {
        query.split(separator: "&", omittingEmptySubsequences: true).map { pair in
            if let equals = pair.firstIndex(of: "=") {
                return (decode(pair[..<equals]), decode(pair[pair.index(after: equals)...]))
            }
            return (decode(pair), "")
        }
    }

    /// A non-negative integer written as 1–19 ASCII digits, else nil: "1e3", "+5", " 5" and "0x10" are typos, not numbers.
    public static func unsignedInteger(_ text: some StringProtocol) -> UInt64? {
        guard !text.isEmpty, text.utf8.count <= 19, text.utf8.allSatisfy({ $0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9") }) else {
            return nil
        }
        return UInt64(text)
    }

    /// One component: `+` → space, then `%XX` escapes.
    public static func decode(_ component: Substring) -> String {
        let utf8 = component.utf8
        guard utf8.contains(where: { $0 == UInt8(ascii: "+") || $0 == UInt8(ascii: "%") }) else { return String(component) }
        var bytes: [UInt8] = []
        bytes.reserveCapacity(utf8.count)
        var valid = true
        var index = utf8.startIndex
        while index != utf8.endIndex {
            let byte = utf8[index]
            switch byte {
            case UInt8(ascii: "+"):
                bytes.append(UInt8(ascii: " "))
            case UInt8(ascii: "%"):
                let high = utf8.index(after: index)
                guard high != utf8.endIndex, utf8.index(after: high) != utf8.endIndex,
                    let h = hexValue(utf8[high]), let l = hexValue(utf8[utf8.index(after: high)])
                else {
                    valid = false
                    bytes.append(byte)
                    break
                }
                bytes.append(h << 4 | l)
                index = utf8.index(after: high)
            default:
                bytes.append(byte)
            }
            index = utf8.index(after: index)
        }
        if valid, let text = String(validating: bytes, as: UTF8.self) { return text }
        // Not a valid encoding: keep what was sent, reading only `+` as a space.
        return String(component).replacingPlusWithSpace()
    }

    private static func hexValue(_ byte: UInt8) -> UInt8? {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): byte - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): byte - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): byte - UInt8(ascii: "A") + 10
        default: nil
        }
    }
}

extension String {
    fileprivate func replacingPlusWithSpace() -> String {
        String(decoding: utf8.map { $0 == UInt8(ascii: "+") ? UInt8(ascii: " ") : $0 }, as: UTF8.self)
    }
}
