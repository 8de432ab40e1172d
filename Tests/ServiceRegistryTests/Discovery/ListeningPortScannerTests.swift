import Foundation
import Testing

@testable import RegistryDiscovery
@testable import RegistryProbe

/// The socket → process → unit mapping on a hand-built /proc and cgroup tree (the real ones are exercised by
/// the systemd integration tests). Socket inodes are those of the captured `proc-net-tcp{,6}.txt` fixtures.
@Suite struct ListeningPortScannerTests {
    let root = TemporaryDirectory("fake-proc")
    var proc: String { root.file("proc") }
    var cgroup: String { root.file("cgroup") }

    init() throws {
        let fm = FileManager.default
        try fm.createDirectory(atPath: proc + "/net", withIntermediateDirectories: true)
        try fm.copyItem(atPath: TestPaths.fixture("discovery/proc-net-tcp.txt"), toPath: proc + "/net/tcp")
        try fm.copyItem(atPath: TestPaths.fixture("discovery/proc-net-tcp6.txt"), toPath: proc + "/net/tcp6")
    }

    /// A process with the given cgroup path and open file descriptors (link targets).
    func process(_ pid: Int, cgroup path: String, fds: [String]) throws {
        let fm = FileManager.default
        try fm.createDirectory(atPath: "\(proc)/\(pid)/fd", withIntermediateDirectories: true)
        try "12:pids:\(path)\n0::\(path)\n".write(toFile: "\(proc)/\(pid)/cgroup", atomically: true, encoding: .utf8)
        for (fd, target) in fds.enumerated() { try fm.createSymbolicLink(atPath: "\(proc)/\(pid)/fd/\(fd + 3)", withDestinationPath: target) }
    }

    func cgroupDirectory(_ path: String, pids: [Int]) throws {
        try FileManager.default.createDirectory(atPath: cgroup + path, withIntermediateDirectories: true)
        try pids.map(String.init).joined(separator: "\n").appending("\n").write(
            toFile: cgroup + path + "/cgroup.procs", atomically: true, encoding: .utf8)
    }

    func makeHost() throws {
        // web: main process 10 listens on 28080 (0.0.0.0) and [::]:28500; worker 11 on 28443 and an accepted connection.
        try process(10, cgroup: "/system.slice/web.service", fds: ["/dev/null", "socket:[108733]", "socket:[108735]"])
        try process(11, cgroup: "/system.slice/web.service", fds: ["socket:[108734]", "socket:[108739]", "pipe:[5]"])
        // delegated: its listener lives in a sub-cgroup.
        try process(20, cgroup: "/system.slice/delegated.service", fds: [])
        try process(21, cgroup: "/system.slice/delegated.service/payload", fds: ["socket:[108737]"])
        // idle: no sockets; stranger: not in any scanned unit.
        try process(30, cgroup: "/system.slice/idle.service", fds: ["socket:[108738]"])
        try process(40, cgroup: "/user.slice/stranger.service", fds: ["socket:[108736]"])
        try cgroupDirectory("/system.slice/web.service", pids: [10, 11])
        try cgroupDirectory("/system.slice/delegated.service", pids: [20])
        try cgroupDirectory("/system.slice/delegated.service/payload", pids: [21])
        try cgroupDirectory("/system.slice/idle.service", pids: [30])
    }

    let targets = [
        ListeningPortScanner.Target(unit: "web.service", controlGroup: "/system.slice/web.service", mainPID: 10),
        ListeningPortScanner.Target(unit: "delegated.service", controlGroup: "/system.slice/delegated.service", mainPID: 20),
        ListeningPortScanner.Target(unit: "idle.service", controlGroup: "/system.slice/idle.service", mainPID: 30),
        ListeningPortScanner.Target(unit: "stopped.service", controlGroup: nil, mainPID: 0),
    ]

    @Test func everyProcessOfTheCgroupCounts() throws {
        try makeHost()
        let scanner = ListeningPortScanner(procRoot: proc, cgroupRoots: [root.file("missing"), cgroup])
        #expect(scanner.ports(for: targets) == ["web.service": [28080, 28443, 28500], "delegated.service": [28502]])
    }

    /// Without a cgroup hierarchy to read, `/proc/PID/cgroup` gives the same answer.
    @Test func procCgroupFilesAreTheFallback() throws {
        try makeHost()
        let scanner = ListeningPortScanner(procRoot: proc, cgroupRoots: [root.file("missing")])
        #expect(scanner.ports(for: targets) == ["web.service": [28080, 28443, 28500], "delegated.service": [28502]])
    }

    /// A remembered MainPID is not trusted when the cgroup can be read (it may belong to another process now).
    @Test func staleMainPIDIsIgnoredWhenTheCgroupIsKnown() throws {
        try makeHost()
        let scanner = ListeningPortScanner(procRoot: proc, cgroupRoots: [cgroup])
        let stale = [ListeningPortScanner.Target(unit: "idle.service", controlGroup: "/system.slice/idle.service", mainPID: 40)]
        #expect(scanner.ports(for: stale).isEmpty)
    }
}
