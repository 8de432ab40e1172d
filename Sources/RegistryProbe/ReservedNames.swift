/// RFC 6761 §6.4: a name under `.invalid` never resolves, and resolver libraries "SHOULD always return
/// immediately with a negative response". The prober does that itself, so a probe of such a name fails as a DNS
/// failure at once and no query leaves the host (glibc would send one to the configured nameserver and, with no
/// nameserver reachable, wait out the probe's timeout instead).
///
/// Only the probed URL's own host is judged; a redirect to a `.invalid` name goes to the system resolver.
enum ReservedNames {
    /// Whether the host of `url` (`scheme://[userinfo@]host[:port][/...]`) is `invalid` or ends in `.invalid`,
    /// in any case, with or without the root's trailing dot. Bytes, not URLComponents: it runs for every
    /// request the schedule holds when the daemon starts.
    static func neverResolves(url: String) -> Bool {
        let bytes = Array(url.utf8)
        guard let authorityStart = bytes.firstRange(of: "://".utf8)?.upperBound else { return false }
        var authorityEnd = authorityStart
        while authorityEnd < bytes.count, !"/?#".utf8.contains(bytes[authorityEnd]) { authorityEnd += 1 }
        var hostStart = authorityStart
        for index in authorityStart..<authorityEnd where bytes[index] == UInt8(ascii: "@") { hostStart = index + 1 }
        guard hostStart < authorityEnd, bytes[hostStart] != UInt8(ascii: "[") else { return false }  // an IPv6 literal
        var hostEnd = authorityEnd
        if let colon = bytes[hostStart..<authorityEnd].lastIndex(of: UInt8(ascii: ":")) { hostEnd = colon }
        if hostEnd > hostStart, bytes[hostEnd - 1] == UInt8(ascii: ".") { hostEnd -= 1 }
        let host = bytes[hostStart..<hostEnd].map { (0x41...0x5A).contains($0) ? $0 + 0x20 : $0 }  // ASCII lowercase
        let invalid = Array("invalid".utf8)
        return host == invalid || (host.count > invalid.count && host.suffix(invalid.count + 1).elementsEqual([UInt8(ascii: ".")] + invalid))
    }
}
