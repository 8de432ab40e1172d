import RegistryModel

/// HTML escaping for the server-rendered dashboard. Every value that reaches a page goes through `escape`
/// (text and attribute values alike: it escapes both quote kinds, so it is safe in either position).
public enum HTML {
    /// Escapes `& < > " '`. The one escaping function the renderer uses.
    public static func escape(_ text: String) -> String {
        var out = ""
        out.reserveCapacity(text.utf8.count)
        for scalar in text.unicodeScalars {
            switch scalar {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            case "'": out += "&#39;"
            default: out.unicodeScalars.append(scalar)
            }
        }
        return out
    }

    /// The URL if it is an absolute `http://` or `https://` URL, else nil: only those become links
    /// (a `javascript:` or `data:` URL in a record must never be clickable). The caller still escapes it.
    public static func linkableURL(_ url: String?) -> String? {
        guard let url else { return nil }
        let lower = url.lowercased()
        guard lower.hasPrefix("http://") || lower.hasPrefix("https://") else { return nil }
        // Control characters and whitespace have no place in a link target.
        if url.unicodeScalars.contains(where: { $0.value <= 0x20 || $0.value == 0x7F }) { return nil }
        // A link never carries credentials (SPEC §11); the browser asks for them if the target wants them.
        return URLCredentials.withoutCredentials(url)
    }

    /// Percent-encodes a query parameter value (for links the renderer builds, e.g. sort headers).
    public static func queryValue(_ value: String) -> String {
        var out = ""
        for byte in value.utf8 {
            switch byte {
            case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"),
                UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "-"), UInt8(ascii: "_"), UInt8(ascii: "."), UInt8(ascii: "~"):
                out.unicodeScalars.append(Unicode.Scalar(byte))
            default:
                let hex = Array("0123456789ABCDEF".utf8)
                out += "%" + String(decoding: [hex[Int(byte >> 4)], hex[Int(byte & 0xF)]], as: UTF8.self)
            }
        }
        return out
    }
}

/// A small HTML builder: appends markup, escaping every dynamic value through `HTML.escape`.
package struct HTMLBuffer {
    private(set) var text = ""

    init(capacity: Int = 4096) { text.reserveCapacity(capacity) }

    /// Literal markup written by the renderer itself (never data).
    package mutating func raw(_ markup: String) { text += markup }
    /// Data: escaped.
    package mutating func text(_ value: String) { text += HTML.escape(value) }
    package mutating func text(_ value: String?, placeholder: String) { text += HTML.escape(value ?? placeholder) }
    /// ` name="value"` with the value escaped.
    mutating func attribute(_ name: String, _ value: String) { text += " \(name)=\"\(HTML.escape(value))\"" }

    package var bytes: [UInt8] { Array(text.utf8) }
}
