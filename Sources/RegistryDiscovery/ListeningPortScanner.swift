import RegistrySupport

/// Finds the TCP ports each unit listens on, from `/proc` and cgroupfs alone (no `ss`).
///
/// One pass per scan: `/proc/net/tcp{,6}` are read once; only processes in the units' cgroups (every one, not
/// just `MainPID`: workers and children count) have their `/proc/PID/fd` links read.
public struct ListeningPortScanner: Sendable {
    public var procRoot: String
    /// Where to look for a unit's `ControlGroup`: the cgroup v2 root, or the hybrid layout's v2 and systemd v1
    /// hierarchies. The first one that has the unit's directory wins.
    public var cgroupRoots: [String]

    public init(
        procRoot: String = "/proc",
        cgroupRoots: [String] = ["/sys/fs/cgroup/unified", "/sys/fs/cgroup/systemd", "/sys/fs/cgroup"]
    ) {
        self.procRoot = procRoot
        self.cgroupRoots = cgroupRoots
    }

    /// A unit to resolve: its name, cgroup path and main process.
    public struct Target: Sendable {
        public var unit: String
        public var controlGroup: String?
        public var mainPID: Int
        public init(unit: String, controlGroup: String?, mainPID: Int) {
            self.unit = unit
            self.controlGroup = controlGroup
            self.mainPID = mainPID
        }
    }

    /// Listening ports per unit name, sorted and unique; units without listeners are absent.
    public func ports(for targets: [Target]) -> [String: [Int]] {
        let listeners = listeningSockets()
        guard !listeners.isEmpty else { return [:] }
        let portByInode = Dictionary(listeners.map { ($0.inode, $0.port) }, uniquingKeysWith: { a, _ in a })

        var pidsByUnit: [String: Set<Int>] = [:]
        var unresolved: [Target] = []
        for target in targets {
            var pids = Set<Int>()
            if let cgroup = target.controlGroup, let members = cgroupProcesses(cgroup) {
                // The cgroup holds the main process too; a remembered MainPID may be stale after a restart.
                pids = members
            } else {
                if target.mainPID > 0 { pids.insert(target.mainPID) }
                if target.controlGroup != nil { unresolved.append(target) }
            }
            if !pids.isEmpty { pidsByUnit[target.unit] = pids }
        }
        // No cgroupfs view of these units (e.g. another cgroup namespace layout): map /proc/PID/cgroup instead.
        if !unresolved.isEmpty {
            for (unit, pids) in processesByCgroupFile(unresolved) { pidsByUnit[unit, default: []].formUnion(pids) }
        }

        var result: [String: [Int]] = [:]
        for (unit, pids) in pidsByUnit {
            var ports = Set<Int>()
            for pid in pids { socketInodes(pid: pid) { if let port = portByInode[$0] { ports.insert(port) } } }
            if !ports.isEmpty { result[unit] = ports.sorted() }
        }
        return result
    }

    /// Every LISTEN socket of this network namespace, IPv4 and IPv6.
    public func listeningSockets() -> [ListeningSocket] {
        ["net/tcp", "net/tcp6"].flatMap { file in ProcNetTCPParser.listeningSockets(Self.listeningSection("\(procRoot)/\(file)")) }
    }

    /// The table up to the end of its listening sockets. The kernel prints every listener first, then walks its
    /// table of connections, which on a busy host is large and slow to read (thousands of rows, milliseconds per
    /// pass); reading stops at the first complete row past the listeners. Small reads keep the kernel from
    /// generating rows far ahead of that point.
    static func listeningSection(_ path: String) -> [UInt8] {
        var bytes: [UInt8] = []
        var checked = 0
        var end: Int?
        ProcFS.readChunks(path, chunkSize: 4096) { chunk in
            bytes.append(contentsOf: chunk)
            while end == nil, let newline = bytes[checked...].firstIndex(of: UInt8(ascii: "\n")) {
                if ProcNetTCPParser.isPastListeners(bytes[checked..<newline]) { end = checked }
                checked = newline + 1
            }
            return end == nil
        }
        if let end { bytes.removeSubrange(end...) }
        return bytes
    }

    /// PIDs in the cgroup and its sub-cgroups (delegated units create their own), or nil when no hierarchy has it.
    func cgroupProcesses(_ cgroup: String) -> Set<Int>? {
        for root in cgroupRoots {
            var pids = Set<Int>()
            if collect(root + cgroup, into: &pids, depth: 0) { return pids }
        }
        return nil
    }

    /// Adds the PIDs of `directory`'s cgroup and its descendants; false when it is not a cgroup.
    @discardableResult
    private func collect(_ directory: String, into pids: inout Set<Int>, depth: Int) -> Bool {
        guard let bytes = ProcFS.readFile(directory + "/cgroup.procs") else { return false }
        pids.formUnion(ProcFS.integers(bytes))
        guard depth < 16, let entries = ProcFS.directoryEntries(directory) else { return true }
        for entry in entries where entry.isDirectory { collect(directory + "/" + entry.name, into: &pids, depth: depth + 1) }
        return true
    }

    /// Fallback: reads `/proc/PID/cgroup` of every process once and matches the units' cgroup paths.
    func processesByCgroupFile(_ targets: [Target]) -> [String: Set<Int>] {
        let unitByCgroup = Dictionary(targets.compactMap { t in t.controlGroup.map { ($0, t.unit) } }, uniquingKeysWith: { a, _ in a })
        guard !unitByCgroup.isEmpty, let entries = ProcFS.directoryEntries(procRoot) else { return [:] }
        var result: [String: Set<Int>] = [:]
        for entry in entries {
            guard let pid = Int(entry.name), let bytes = ProcFS.readFile("\(procRoot)/\(pid)/cgroup") else { continue }
            for line in bytes.split(separator: UInt8(ascii: "\n")) {
                // hierarchy-id:controllers:path
                guard let second = line.indices.filter({ line[$0] == UInt8(ascii: ":") }).dropFirst().first else { continue }
                var path = String(decoding: line[(second + 1)...], as: UTF8.self)
                while !path.isEmpty {
                    if let unit = unitByCgroup[path] {
                        result[unit, default: []].insert(pid)
                        break
                    }
                    guard let slash = path.lastIndex(of: "/") else { break }
                    path = String(path[..<slash])
                }
            }
        }
        return result
    }

    /// Calls `body` with the inode of every socket the process has open.
    func socketInodes(pid: Int, _ body: (UInt64) -> Void) {
        let fdDirectory = "\(procRoot)/\(pid)/fd"
        guard let entries = ProcFS.directoryEntries(fdDirectory) else { return }
        for entry in entries {
            guard let target = ProcFS.readLink(fdDirectory + "/" + entry.name), target.hasPrefix("socket:[") else { continue }
            if let inode = UInt64(target.dropFirst(8).dropLast()) { body(inode) }
        }
    }
}
