import Foundation
import RegistryModel

/// Link-local targets (169.254.0.0/16, fe80::/10) are where clouds serve instance metadata and credentials:
/// the prober refuses them, at validation (a literal address in the URL) and at connect time (a name that
/// resolves to one), unless `--probe-allow-link-local` (SPEC §11).
public enum LinkLocal {
    /// Whether `host` (a URL's host: a name, an IPv4 address in any form `inet_aton` accepts, or an IPv6
    /// address with or without brackets and zone) is a link-local address. Names are judged at connect time.
    public static func isLinkLocal(host: String) -> Bool {
        var host = host
        if host.hasPrefix("["), host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
        if let percent = host.firstIndex(of: "%") { host = String(host[..<percent]) }
        if host.hasSuffix(".") { host.removeLast() }
        var v4 = in_addr()
        // inet_aton, as getaddrinfo does: 169.254.169.254, 2852039166, 0xa9fea9fe, 0251.0376.0251.0376...
        if inet_aton(host, &v4) != 0 { return isLinkLocal(ipv4: v4) }
        var v6 = in6_addr()
        if inet_pton(AF_INET6, host, &v6) == 1 { return isLinkLocal(ipv6: v6) }
        return false
    }

    static func isLinkLocal(ipv4 address: in_addr) -> Bool {
        let value = UInt32(bigEndian: address.s_addr)
        return value >> 16 == 0xA9FE  // 169.254.0.0/16
    }

    static func isLinkLocal(ipv6 address: in6_addr) -> Bool {
        let b = withUnsafeBytes(of: address) { Array($0) }
        if b[0] == 0xFE && b[1] & 0xC0 == 0x80 { return true }  // fe80::/10
        // An IPv4-mapped (::ffff:a.b.c.d) or IPv4-compatible form of a link-local IPv4 address.
        if b[0..<10].allSatisfy({ $0 == 0 }) && (b[10..<12].allSatisfy({ $0 == 0xFF }) || b[10..<12].allSatisfy({ $0 == 0 })) {
            return b[12] == 169 && b[13] == 254
        }
        return false
    }

    /// The connect-time check, on the address libcurl is about to open a socket for.
    static func isLinkLocal(_ address: UnsafePointer<sockaddr>) -> Bool {
        switch Int32(address.pointee.sa_family) {
        case AF_INET:
            return address.withMemoryRebound(to: sockaddr_in.self, capacity: 1) { isLinkLocal(ipv4: $0.pointee.sin_addr) }
        case AF_INET6:
            return address.withMemoryRebound(to: sockaddr_in6.self, capacity: 1) { isLinkLocal(ipv6: $0.pointee.sin6_addr) }
        default:
            return false
        }
    }

    /// The validation issue for a URL field whose host is a link-local address, or nil.
    package static func issue(url: String?, field: String) -> ValidationIssue? {
        guard let url, let host = URLComponents(string: url)?.host, isLinkLocal(host: host) else { return nil }
        return .body(
            field,
            "\(field) points to a link-local address (169.254.0.0/16, fe80::/10), which the prober refuses "
                + "(start the registry with --probe-allow-link-local to allow it)", type: "value_error")
    }

    /// 422 when a patch's `url` or `health_url` is a literal link-local address.
    package static func validate(_ patch: ServicePatch) throws {
        var issues: [ValidationIssue] = []
        if case .value(let url) = patch.url, let issue = issue(url: url, field: "url") { issues.append(issue) }
        if case .value(let url) = patch.healthURL, let issue = issue(url: url, field: "health_url") { issues.append(issue) }
        if !issues.isEmpty { throw ValidationFailure(issues) }
    }
}
