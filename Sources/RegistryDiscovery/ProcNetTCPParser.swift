/// A TCP socket in LISTEN state, from `/proc/net/tcp` or `/proc/net/tcp6`.
public struct ListeningSocket: Sendable, Equatable {
    public var port: Int
    /// The kernel's socket inode: `/proc/PID/fd/N` links to `socket:[inode]`.
    public var inode: UInt64
    /// The local address as printed by `ss` (`0.0.0.0`, `127.0.0.1`, `::`, `::1`, `::ffff:127.0.0.1`).
    public var address: String

    public init(port: Int, inode: UInt64, address: String) {
        self.port = port
        self.inode = inode
        self.address = address
    }
}

/// Parses `/proc/net/tcp{,6}`: `sl local_address rem_address st … uid timeout inode …`, addresses in hex
/// as the kernel stores them (each 32-bit word in host byte order, little-endian here), ports in big-endian hex.
public enum ProcNetTCPParser {
    /// `st` value of TCP_LISTEN.
    static let listenState = "0A"

    public static func listeningSockets(_ bytes: [UInt8]) -> [ListeningSocket] {
        var sockets: [ListeningSocket] = []
        var lineStart = 0
        while lineStart < bytes.count {
            var lineEnd = lineStart
            while lineEnd < bytes.count && bytes[lineEnd] != UInt8(ascii: "\n") { lineEnd += 1 }
            if let socket = parseLine(bytes[lineStart..<lineEnd]) { sockets.append(socket) }
            lineStart = lineEnd + 1
        }
        return sockets
    }

    /// Whether a row is a connection rather than a listener: the kernel lists listeners first (with their
    /// SYN_RECV requests, `03`, on kernels before 4.4), so such a row ends the listening section.
    static func isPastListeners(_ line: ArraySlice<UInt8>) -> Bool {
        let fields = line.split(separator: UInt8(ascii: " "), maxSplits: 4)
        guard fields.count >= 4, fields[0].last == UInt8(ascii: ":") else { return false }
        let state = String(decoding: fields[3], as: UTF8.self)
        return state != listenState && state != "03"
    }

    /// One table row, or nil for the header, other states and malformed rows.
    static func parseLine(_ line: ArraySlice<UInt8>) -> ListeningSocket? {
        let fields = line.split(separator: UInt8(ascii: " "))
        // sl, local, remote, st, tx:rx, tr:when, retrnsmt, uid, timeout, inode
        guard fields.count >= 10, fields[0].last == UInt8(ascii: ":"),
            String(decoding: fields[3], as: UTF8.self) == listenState
        else { return nil }
        let local = fields[1]
        guard let colon = local.firstIndex(of: UInt8(ascii: ":")),
            let port = Int(String(decoding: local[local.index(after: colon)...], as: UTF8.self), radix: 16),
            (1...65535).contains(port),
            let inode = UInt64(String(decoding: fields[9], as: UTF8.self)), inode != 0,
            let address = address(hex: local[..<colon])
        else { return nil }
        return ListeningSocket(port: port, inode: inode, address: address)
    }

    /// Decodes the kernel's hex address: 8 digits (IPv4) or 32 (IPv6), each 4-byte word little-endian.
    package static func address(hex: ArraySlice<UInt8>) -> String? {
        guard hex.count == 8 || hex.count == 32 else { return nil }
        var bytes: [UInt8] = []
        var index = hex.startIndex
        while index < hex.endIndex {
            guard let word = UInt32(String(decoding: hex[index..<index + 8], as: UTF8.self), radix: 16) else { return nil }
            // The word was printed as a host-order integer: its least significant byte is the first address byte.
            bytes += [UInt8(word & 0xFF), UInt8(word >> 8 & 0xFF), UInt8(word >> 16 & 0xFF), UInt8(word >> 24)]
            index += 8
        }
        if bytes.count == 4 { return bytes.map(String.init).joined(separator: ".") }
        return formatIPv6(bytes)
    }

    /// RFC 5952 text: lowercase, longest zero run compressed, v4-mapped addresses in dotted form.
    static func formatIPv6(_ bytes: [UInt8]) -> String {
        if bytes[0..<10].allSatisfy({ $0 == 0 }) && bytes[10] == 0xFF && bytes[11] == 0xFF {
            return "::ffff:" + bytes[12...].map(String.init).joined(separator: ".")
        }
        let groups = stride(from: 0, to: 16, by: 2).map { Int(bytes[$0]) << 8 | Int(bytes[$0 + 1]) }
        var bestStart = -1
        var bestLength = 0
        var runStart = -1
        for (i, group) in groups.enumerated() {
            if group == 0 {
                if runStart < 0 { runStart = i }
                let length = i - runStart + 1
                if length > bestLength && length > 1 {
                    bestStart = runStart
                    bestLength = length
                }
            } else {
                runStart = -1
            }
        }
        let hex = groups.map { String($0, radix: 16) }
        guard bestStart >= 0 else { return hex.joined(separator: ":") }
        let head = hex[..<bestStart].joined(separator: ":")
        let tail = hex[(bestStart + bestLength)...].joined(separator: ":")
        return head + "::" + tail
    }
}
