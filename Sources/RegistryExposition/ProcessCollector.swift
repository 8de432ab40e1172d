import Foundation
import RegistrySupport

/// `process_*` with the names and meaning of the Prometheus client libraries' process collector, read
/// from `/proc/self` at scrape time (a few small reads, no subprocess).
public struct ProcessCollector: RegistryMetricsCollector {
    public static let cpu = MetricFamily(
        "process_cpu_seconds_total", .counter, unit: "seconds",
        help: "Total user and system CPU time spent in seconds.")
    public static let openFDs = MetricFamily("process_open_fds", .gauge, help: "Number of open file descriptors.")
    public static let maxFDs = MetricFamily("process_max_fds", .gauge, help: "Maximum number of open file descriptors.")
    public static let virtualMemory = MetricFamily(
        "process_virtual_memory_bytes", .gauge, unit: "bytes",
        help: "Virtual memory size in bytes.")
    public static let virtualMemoryMax = MetricFamily(
        "process_virtual_memory_max_bytes", .gauge, unit: "bytes",
        help: "Maximum amount of virtual memory available in bytes.")
    public static let residentMemory = MetricFamily(
        "process_resident_memory_bytes", .gauge, unit: "bytes",
        help: "Resident memory size in bytes.")
    public static let startTime = MetricFamily(
        "process_start_time_seconds", .gauge, unit: "seconds",
        help: "Start time of the process since unix epoch in seconds.")

    public static let families = [cpu, openFDs, maxFDs, virtualMemory, virtualMemoryMax, residentMemory, startTime]

    public init() {}

    public func collect(_ scrape: Scrape, into writer: inout ExpositionWriter) {
        // A family whose source cannot be read is left out rather than reported as 0.
        let stat = ProcStat.parse(ProcFS.readText("/proc/self/stat"))
        if let stat {
            writer.begin(Self.cpu)
            writer.sample(value: Double(stat.userTicks + stat.systemTicks) / Self.clockTicks)
        }
        if let fds = Self.countOpenFDs() {
            writer.begin(Self.openFDs)
            writer.sample(value: Double(fds))
        }
        var limit = rlimit()
        if getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit) == 0 {
            writer.begin(Self.maxFDs)
            writer.sample(value: Double(limit.rlim_cur))
        }
        if let stat {
            writer.begin(Self.virtualMemory)
            writer.sample(value: Double(stat.virtualBytes))
        }
        if getrlimit(Int32(RLIMIT_AS.rawValue), &limit) == 0 {
            writer.begin(Self.virtualMemoryMax)
            writer.sample(value: Double(limit.rlim_cur))
        }
        if let stat {
            writer.begin(Self.residentMemory)
            writer.sample(value: Double(stat.residentPages) * Self.pageSize)
            if let boot = Self.bootTime {
                writer.begin(Self.startTime)
                writer.sample(value: boot + Double(stat.startTicks) / Self.clockTicks)
            }
        }
    }

    static let clockTicks = Double(sysconf(Int32(_SC_CLK_TCK)))
    package static let pageSize = Double(sysconf(Int32(_SC_PAGESIZE)))
    /// Boot time from `/proc/stat`, read once: it does not change while we run.
    static let bootTime: Double? = ProcStat.bootTime(fromProcStat: ProcFS.readText("/proc/stat"))

    /// Entries of `/proc/self/fd`, less the one the directory listing itself holds open.
    static func countOpenFDs() -> Int? {
        ProcFS.directoryEntries("/proc/self/fd").map { max($0.count - 1, 0) }
    }
}

/// The fields of `/proc/PID/stat` (proc(5)) the process collector needs.
struct ProcStat: Equatable {
    var userTicks: UInt64
    var systemTicks: UInt64
    var startTicks: UInt64
    var virtualBytes: UInt64
    var residentPages: UInt64

    /// Parses one `stat` line. The command name (field 2) may contain spaces and parentheses, so the
    /// fields are counted from the last `)`.
    package static func parse(_ text: String?) -> ProcStat? {
        guard let text, let close = text.lastIndex(of: ")") else { return nil }
        let fields = text[text.index(after: close)...].split(separator: " ", omittingEmptySubsequences: true)
        // fields[0] is field 3 (state); field n is fields[n - 3].
        func field(_ n: Int) -> UInt64? { n - 3 < fields.count ? UInt64(fields[n - 3].trimmingCharacters(in: .whitespacesAndNewlines)) : nil }
        guard let utime = field(14), let stime = field(15), let start = field(22), let vsize = field(23), let rss = field(24) else { return nil }
        return ProcStat(userTicks: utime, systemTicks: stime, startTicks: start, virtualBytes: vsize, residentPages: rss)
    }

    /// `btime` of `/proc/stat`: boot time in seconds since the epoch.
    static func bootTime(fromProcStat text: String?) -> Double? {
        guard let text else { return nil }
        for line in text.split(separator: "\n") where line.hasPrefix("btime ") {
            return Double(line.dropFirst("btime ".count).trimmingCharacters(in: .whitespaces))
        }
        return nil
    }
}
