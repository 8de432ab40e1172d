/// URL credentials (`http://user:secret@host/`) are kept in the record for its owner (the API returns what
/// was stored), but every other output (/metrics, /api/sd, the dashboard, scan page, probe errors, logs) shows
/// them redacted (SPEC §11).
public enum URLCredentials {
    /// `scheme://user:secret@host...` → `scheme://user:***@host...`; a user alone (often a token itself) →
    /// `scheme://***@host...`. Works on any text, for every URL in it (probe errors quote `Location`s).
    public static func redacted(_ text: String) -> String {
        guard text.contains("@"), text.contains("://") else { return text }
        var scalars = Array(text.unicodeScalars)
        var output = String.UnicodeScalarView()
        var i = 0
        while i < scalars.count {
            // At "://": the authority runs to the next '/', '?', '#' or whitespace; its userinfo ends at its last '@'.
            if scalars[i] == ":", i + 2 < scalars.count, scalars[i + 1] == "/", scalars[i + 2] == "/" {
                output.append(contentsOf: scalars[i...(i + 2)])
                var end = i + 3
                while end < scalars.count, !["/", "?", "#", " ", "\t", "\n", "\r", "\"", "'", "<", ">"].contains(scalars[end]) { end += 1 }
                let authority = scalars[(i + 3)..<end]
                if let at = authority.lastIndex(of: "@") {
                    let userinfo = authority[authority.startIndex..<at]
                    if let colon = userinfo.firstIndex(of: ":") {
                        output.append(contentsOf: userinfo[userinfo.startIndex..<colon])
                        output.append(contentsOf: ":***".unicodeScalars)
                    } else {
                        output.append(contentsOf: "***".unicodeScalars)
                    }
                    output.append(contentsOf: authority[at...])
                } else {
                    output.append(contentsOf: authority)
                }
                i = end
                continue
            }
            output.append(scalars[i])
            i += 1
        }
        scalars = []
        return String(output)
    }

    public static func redacted(_ text: String?) -> String? { text.map { redacted($0) } }

    /// The URL without its userinfo at all: what a dashboard link points to (the browser asks for credentials).
    public static func withoutCredentials(_ url: String) -> String {
        guard let scheme = url.range(of: "://") else { return url }
        let rest = url[scheme.upperBound...]
        let authorityEnd = rest.firstIndex { "/?#".contains($0) } ?? rest.endIndex
        guard let at = rest[..<authorityEnd].lastIndex(of: "@") else { return url }
        return String(url[..<scheme.upperBound]) + String(rest[rest.index(after: at)...])
    }

    public static func hasCredentials(_ url: String?) -> Bool {
        guard let url else { return false }
        return redacted(url) != url
    }
}
