import Foundation
import RegistryDiscovery
import RegistrySupport

/// What a daemon that never answered `/ready` was doing, read from /proc when the wait gives up: whether anything
/// listens on its port and whose socket that is, its threads' states and kernel wait channels, the CPU time it used,
/// the machine's load and the test process's open files (curl cannot start without descriptors). A failed wait then
/// says whether the daemon was stuck, starved or never bound, which its log (warnings only) cannot.
struct ReadinessDiagnosis: CustomStringConvertible {
    let pid: Int32
    let port: Int

    var description: String {
        let load = Self.read("/proc/loadavg")?.split(separator: " ").prefix(3).joined(separator: " ") ?? "?"
        let testFiles = (try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/fd").count).map(String.init) ?? "?"
        return [listener, threads, cpuTime, "load average \(load)", "the test process has \(testFiles) open files"].joined(separator: "; ")
    }

    /// The socket listening on 127.0.0.1:`port` (read with discovery's own parser), and whose it is.
    private var listener: String {
        let table = Array((Self.read("/proc/net/tcp") ?? "").utf8)
        guard let socket = ProcNetTCPParser.listeningSockets(table).first(where: { $0.port == port && $0.address == "127.0.0.1" }) else {
            return "nothing listens on 127.0.0.1:\(port)"
        }
        let descriptors = (try? FileManager.default.contentsOfDirectory(atPath: "/proc/\(pid)/fd")) ?? []
        let owned = descriptors.contains { fd in
            (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/\(pid)/fd/\(fd)")) == "socket:[\(socket.inode)]"
        }
        return "127.0.0.1:\(port) is listening (socket \(socket.inode), \(owned ? "the daemon's" : "NOT the daemon's"))"
    }

    /// Thread name, state and wait channel, counted: "3× NIO-ELT (S, ep_poll)".
    private var threads: String {
        let tasks = (try? FileManager.default.contentsOfDirectory(atPath: "/proc/\(pid)/task")) ?? []
        var counts: [String: Int] = [:]
        for task in tasks {
            let base = "/proc/\(pid)/task/\(task)"
            let name = Self.read("\(base)/comm")?.trimmingCharacters(in: .whitespacesAndNewlines) ?? "?"
            let state =
                Self.read("\(base)/stat").flatMap { stat in
                    stat.range(of: ") ").map { String(stat[$0.upperBound...].prefix(1)) }
                } ?? "?"
            let channel = Self.read("\(base)/wchan") ?? "?"
            counts["\(name) (\(state), \(channel))", default: 0] += 1
        }
        return "threads: " + counts.sorted { $0.key < $1.key }.map { "\($0.value)× \($0.key)" }.joined(separator: ", ")
    }

    /// utime + stime in seconds (fields 14 and 15 of /proc/PID/stat, counted after the command's closing paren).
    private var cpuTime: String {
        guard let stat = Self.read("/proc/\(pid)/stat"), let end = stat.range(of: ") ") else { return "cpu time ?" }
        let fields = stat[end.upperBound...].split(separator: " ")
        guard fields.count > 12, let user = Double(fields[11]), let system = Double(fields[12]) else { return "cpu time ?" }
        let ticks = Double(sysconf(Int32(_SC_CLK_TCK)))
        return String(format: "cpu time %.2f s user, %.2f s system", user / ticks, system / ticks)
    }

    /// Through `ProcFS`: Foundation's one-shot read stops at ~4 KB on /proc/net/tcp, which hid listeners past the first
    /// few dozen sockets.
    private static func read(_ path: String) -> String? { ProcFS.readText(path) }
}
