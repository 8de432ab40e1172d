import Foundation

/// What a finished command printed and how it ended.
struct CommandOutput: Sendable {
    var status: Int32
    var stdout: [UInt8]
    var stderr: [UInt8]
    var timedOut: Bool

    var stderrText: String { String(decoding: stderr, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines) }
}

/// Runs a short external command with a deadline, off Swift's cooperative threads (it blocks on pipes).
enum CommandRunner {
    static func run(executable: String, arguments: [String], environment: [String: String], timeout: Double) async throws -> CommandOutput {
        try await withCheckedThrowingContinuation { continuation in
            BlockingWork.queue.async {
                continuation.resume(with: Result {
                    try runBlocking(executable: executable, arguments: arguments, environment: environment, timeout: timeout)
                })
            }
        }
    }

    /// Runs the command and reads both pipes until they close or the deadline passes. At the deadline the
    /// command is killed together with every process it started: a script that hangs in a child (`sleep`, a
    /// wedged `systemctl` behind a wrapper) would otherwise hold the pipes open, and this call, a scan and
    /// SIGTERM with it, would never return (SPEC §12).
    static func runBlocking(executable: String, arguments: [String], environment: [String: String], timeout: Double) throws -> CommandOutput {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        process.environment = environment
        let stdout = Pipe(), stderr = Pipe()
        process.standardOutput = stdout
        process.standardError = stderr
        process.standardInput = FileHandle.nullDevice
        try process.run()
        let deadline = DispatchTime.now().uptimeNanoseconds &+ UInt64(max(0, timeout) * 1e9)
        func millisecondsLeft() -> Int32 {
            let now = DispatchTime.now().uptimeNanoseconds
            return now >= deadline ? 0 : Int32(min(1000, (deadline - now) / 1_000_000 + 1))
        }

        // Both pipes are drained at once (poll), so a chatty stderr cannot block the command.
        var output = [UInt8](), errors = [UInt8]()
        var fds = [pollfd(fd: stdout.fileHandleForReading.fileDescriptor, events: Int16(POLLIN), revents: 0),
                   pollfd(fd: stderr.fileHandleForReading.fileDescriptor, events: Int16(POLLIN), revents: 0)]
        var buffer = [UInt8](repeating: 0, count: 65536)
        var timedOut = false
        while fds.contains(where: { $0.fd >= 0 }) {
            let wait = millisecondsLeft()
            if wait == 0 { timedOut = true; break }
            guard poll(&fds, nfds_t(fds.count), wait) >= 0 || errno == EINTR else { break }
            for index in fds.indices where fds[index].fd >= 0 && fds[index].revents != 0 {
                let count = read(fds[index].fd, &buffer, buffer.count)
                if count > 0 {
                    if index == 0 { output += buffer[0..<count] } else { errors += buffer[0..<count] }
                } else if count == 0 || (errno != EINTR && errno != EAGAIN) {
                    fds[index].fd = -1
                }
                fds[index].revents = 0
            }
        }
        // The pipes closed: the command has ended or is about to (or it closed them and went on: it gets the rest of
        // its time, then the same end).
        while !timedOut && process.isRunning {
            if millisecondsLeft() == 0 { timedOut = true } else { usleep(2000) }
        }
        if timedOut && process.isRunning {
            for pid in processTree(of: process.processIdentifier).reversed() { kill(pid, SIGKILL) }
        }
        process.waitUntilExit()
        return CommandOutput(status: process.terminationStatus, stdout: output, stderr: errors, timedOut: timedOut)
    }

    /// `root` and every process descended from it (parents before children), from `/proc/PID/stat`.
    static func processTree(of root: pid_t) -> [pid_t] {
        var children: [pid_t: [pid_t]] = [:]
        for entry in ProcFS.directoryEntries("/proc") ?? [] {
            guard let pid = pid_t(entry.name), let stat = ProcFS.readText("/proc/\(pid)/stat"),
                  let close = stat.lastIndex(of: ")") else { continue }
            // After "pid (comm)": state, then the parent's pid.
            let fields = stat[stat.index(after: close)...].split(separator: " ")
            if fields.count > 1, let parent = pid_t(fields[1]) { children[parent, default: []].append(pid) }
        }
        var tree = [root]
        var index = 0
        while index < tree.count, tree.count < 10_000 {
            tree += children[tree[index]] ?? []
            index += 1
        }
        return tree
    }

    /// The executable a command name refers to: itself when it contains a slash, else the first match in PATH.
    static func resolve(_ command: String, searchPath: String?) -> String? {
        let fm = FileManager.default
        if command.contains("/") { return fm.isExecutableFile(atPath: command) ? command : nil }
        for directory in (searchPath ?? "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin").split(separator: ":") {
            let candidate = "\(directory)/\(command)"
            if fm.isExecutableFile(atPath: candidate) { return candidate }
        }
        return nil
    }
}
