import Foundation
import RegistrySupport

/// What a process's open descriptors are, counted by kind, for a test that finds more than it expected: sockets by
/// TCP state and port (from /proc/net/tcp and tcp6, read whole with `ProcFS`), then pipes, anonymous inodes and files. A leak then says
/// whether it is client connections (and in which state), probe sockets or something else.
struct DescriptorDiagnosis: CustomStringConvertible {
    let pid: Int32

    /// One row of /proc/net/tcp or tcp6.
    struct TCPSocket {
        let localPort: Int
        let remotePort: Int
        let state: String
        let inode: UInt64
    }

    var description: String {
        let all = Self.tcpSockets(pid: pid)
        let sockets = Dictionary(all.map { ($0.inode, $0) }, uniquingKeysWith: { first, _ in first })
        // Tests' daemons listen on ephemeral ports: a socket is a server side when a listener has its local port.
        let listening = Set(all.filter { $0.state == "LISTEN" }.map(\.localPort))
        var counts: [String: Int] = [:]
        let targets = Self.descriptorTargets(pid: pid)
        for target in targets {
            let kind: String
            if let inode = Self.socketInode(target) {
                // A server side is named by its local port, a client side by the remote one.
                kind =
                    sockets[inode].map { socket in
                        listening.contains(socket.localPort)
                            ? "tcp \(socket.state) local :\(socket.localPort)" : "tcp \(socket.state) to :\(socket.remotePort)"
                    } ?? "socket (not TCP)"
            } else if target.hasPrefix("/") {
                kind = "file " + (target.split(separator: "/").last.map(String.init) ?? target)
            } else {
                kind = String(target.prefix { $0 != "[" && $0 != ":" })
            }
            counts[kind, default: 0] += 1
        }
        return "\(targets.count) descriptors: " + counts.sorted { $0.value > $1.value }.map { "\($0.value)× \($0.key)" }.joined(separator: ", ")
    }

    /// The daemon's accepted connections on `port`, counted by their state and the state of the client's end
    /// ("ESTABLISHED, client FIN_WAIT2"; "client gone" when no socket on this host has the client's port).
    /// CLOSE_WAIT means the daemon was told the client ended and still holds the socket; ESTABLISHED with the
    /// client gone means the end never reached the daemon, and only its timeouts can close it.
    static func acceptedConnections(pid: Int32, port: Int) -> [String: Int] {
        let sockets = tcpSockets(pid: pid)
        let owned = Set(descriptorTargets(pid: pid).compactMap(socketInode))
        var counts: [String: Int] = [:]
        for socket in sockets where owned.contains(socket.inode) && socket.localPort == port && socket.state != "LISTEN" {
            let client = sockets.first { $0.localPort == socket.remotePort && $0.remotePort == port }
            counts["\(socket.state), client \(client?.state ?? "gone")", default: 0] += 1
        }
        return counts
    }

    private static func descriptorTargets(pid: Int32) -> [String] {
        let directory = "/proc/\(pid)/fd"
        let entries = (try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []
        return entries.compactMap { try? FileManager.default.destinationOfSymbolicLink(atPath: "\(directory)/\($0)") }
    }

    private static func socketInode(_ target: String) -> UInt64? {
        target.hasPrefix("socket:[") ? UInt64(target.dropFirst(8).dropLast()) : nil
    }

    /// Every TCP socket in the process's network namespace.
    static func tcpSockets(pid: Int32) -> [TCPSocket] {
        let states = [
            "01": "ESTABLISHED", "02": "SYN_SENT", "03": "SYN_RECV", "04": "FIN_WAIT1", "05": "FIN_WAIT2", "06": "TIME_WAIT",
            "07": "CLOSE", "08": "CLOSE_WAIT", "09": "LAST_ACK", "0A": "LISTEN", "0B": "CLOSING",
        ]
        let port = { (address: Substring) in address.split(separator: ":").last.flatMap { Int($0, radix: 16) } ?? -1 }
        var sockets: [TCPSocket] = []
        for table in ["tcp", "tcp6"] {
            guard let text = ProcFS.readText("/proc/\(pid)/net/\(table)") else { continue }  // Foundation stops at ~4 KB here
            for line in text.split(separator: "\n").dropFirst() {
                let fields = line.split(separator: " ")
                guard fields.count > 9, let inode = UInt64(fields[9]) else { continue }
                let state = states[String(fields[3])] ?? String(fields[3])
                sockets.append(TCPSocket(localPort: port(fields[1]), remotePort: port(fields[2]), state: state, inode: inode))
            }
        }
        return sockets
    }
}
