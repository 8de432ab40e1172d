import Foundation
import RegistrySupport
import Synchronization

/// What a finished command printed and how it ended.
package struct CommandOutput: Sendable {
    /// The exit code, or the signal number when a signal ended it (as Foundation's `Process` reports it).
    package var status: Int32
    var stdout: [UInt8]
    package var stderr: [UInt8]
    var timedOut: Bool

    var stderrText: String { String(decoding: stderr, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines) }
}

struct CommandRunnerError: Error, CustomStringConvertible {
    package let description: String
}

/// Runs a short external command with a deadline, off Swift's cooperative threads (it blocks on pipes).
///
/// The child is spawned and reaped here (posix_spawn, then waitid/waitpid), not by Foundation's `Process`,
/// whose own monitor thread reaps children: between that reap and our noticing it, a deadline killer could
/// signal the PID after the kernel had handed it to an unrelated process. Here the child is first waited for
/// without being reaped (`waitid(WNOWAIT)`: it stays a zombie and keeps its PID), the killer is disarmed under
/// the same lock it signals under, and only then is the child reaped. So the killer signals either our live
/// child or our zombie (harmless), never a reused PID.
enum CommandRunner {
    /// - Parameter group: when given, the command belongs to it: `group.stop()` kills it at once (SIGTERM must not
    ///   wait for a hung systemctl's deadline), and once stopped the group starts nothing more.
    package static func run(
        executable: String, arguments: [String], environment: [String: String], timeout: Double,
        group: CommandGroup? = nil
    ) async throws -> CommandOutput {
        try await withCheckedThrowingContinuation { continuation in
            BlockingWork.queue.async {
                continuation.resume(
                    with: Result {
                        try runBlocking(
                            executable: executable, arguments: arguments, environment: environment, timeout: timeout,
                            group: group)
                    })
            }
        }
    }

    /// The commands one owner (discovery) is running, so it can end them all when the daemon stops.
    final class CommandGroup: Sendable {
        private let state = Mutex<(children: [pid_t: Child], stopped: Bool)>(([:], false))

        /// Kills every running command of the group (its whole process group) and refuses new ones.
        package func stop() {
            let children = state.withLock { state -> [Child] in
                state.stopped = true
                return Array(state.children.values)
            }
            for child in children { child.signalIfNotReaped(SIGKILL) }
        }

        var isStopped: Bool { state.withLock { $0.stopped } }

        /// Registers a spawned child; answers false (and the caller kills it) when the group was already stopped.
        fileprivate func add(_ child: Child) -> Bool {
            state.withLock { state in
                state.children[child.pid] = child
                return !state.stopped
            }
        }

        fileprivate func remove(_ child: Child) {
            state.withLock { _ = $0.children.removeValue(forKey: child.pid) }
        }
    }

    /// A spawned child that only this runner reaps, and the deadline's kill switch.
    final class Child: Sendable {
        package let pid: pid_t
        /// `reaped`: the PID may belong to someone else now, never signal it. `signalled`: the killer fired.
        private let state = Mutex<(reaped: Bool, signalled: Bool)>((false, false))

        init(pid: pid_t) { self.pid = pid }

        /// Sends `signal` unless the child has been reaped; answers whether it was sent.
        @discardableResult
        func signalIfNotReaped(_ signal: Int32) -> Bool {
            state.withLock { s in
                guard !s.reaped else { return false }
                s.signalled = true
                // The whole process group (the child leads its own): a script whose child hangs would
                // otherwise hold the pipes open, and this read, a scan and SIGTERM with it, never end (SPEC §12).
                // The group id cannot be reused while its leader is unreaped.
                kill(-pid, signal)
                kill(pid, signal)
                return true
            }
        }

        var wasSignalled: Bool { state.withLock { $0.signalled } }

        /// Waits until the child has exited, disarms `signalIfNotReaped`, then reaps it. Returns the wait status.
        func waitAndReap() -> Int32 {
            var info = siginfo_t()
            // Exited, not reaped: the PID is still ours (a zombie) while the killer may run.
            while waitid(P_PID, id_t(pid), &info, WEXITED | WNOWAIT) == -1 && errno == EINTR {}
            state.withLock { $0.reaped = true }
            var status: Int32 = 0
            while waitpid(pid, &status, 0) == -1 && errno == EINTR {}
            return status
        }
    }

    /// - Parameter afterReap: test seam, run after the child is reaped and before the deadline is cancelled.
    static func runBlocking(
        executable: String, arguments: [String], environment: [String: String], timeout: Double,
        group: CommandGroup? = nil, afterReap: (() -> Void)? = nil
    ) throws -> CommandOutput {
        if group?.isStopped == true { throw CommandRunnerError(description: "stopped") }
        let (child, stdoutFD, stderrFD) = try spawn(executable: executable, arguments: arguments, environment: environment)
        // Registered before anything waits on it, so a `stop()` from now on reaches it (and one before, here).
        if let group, !group.add(child) { child.signalIfNotReaped(SIGKILL) }
        defer { group?.remove(child) }
        let killer = DispatchWorkItem { child.signalIfNotReaped(SIGKILL) }
        BlockingWork.queue.asyncAfter(deadline: .now() + timeout, execute: killer)

        // Both pipes are drained at once so a chatty stderr cannot block the command.
        let errorBytes = Mutex<[UInt8]>([])
        let errorRead = DispatchGroup()
        errorRead.enter()
        BlockingWork.queue.async {
            let data = readToEnd(stderrFD)
            errorBytes.withLock { $0 = data }
            errorRead.leave()
        }
        let output = readToEnd(stdoutFD)
        errorRead.wait()
        close(stdoutFD)
        close(stderrFD)
        let status = child.waitAndReap()
        afterReap?()
        killer.cancel()
        // Exited normally: the code; ended by a signal: its number.
        let exitStatus = status & 0x7F == 0 ? (status >> 8) & 0xFF : status & 0x7F
        return CommandOutput(status: exitStatus, stdout: output, stderr: errorBytes.withLock { $0 }, timedOut: child.wasSignalled)
    }

    /// glibc's `posix_spawn_file_actions_addclosefrom_np` (2.34 and later), which Swift's Glibc module does not
    /// declare. Without it (an older glibc) children inherit what is not close-on-exec, as before.
    private static let addCloseFrom: (@convention(c) (UnsafeMutablePointer<posix_spawn_file_actions_t>, Int32) -> Int32)? = {
        guard let symbol = dlsym(dlopen(nil, RTLD_NOW), "posix_spawn_file_actions_addclosefrom_np") else { return nil }
        return unsafeBitCast(symbol, to: (@convention(c) (UnsafeMutablePointer<posix_spawn_file_actions_t>, Int32) -> Int32).self)
    }()

    /// posix_spawn with stdin from /dev/null and stdout/stderr into pipes; default signal handling and an
    /// empty signal mask in the child (the daemon ignores SIGPIPE; a command should not inherit that).
    static func spawn(executable: String, arguments: [String], environment: [String: String]) throws -> (Child, Int32, Int32) {
        var out: [Int32] = [-1, -1]
        var err: [Int32] = [-1, -1]
        guard pipe(&out) == 0 else { throw CommandRunnerError(description: "pipe: \(String(cString: strerror(errno)))") }
        guard pipe(&err) == 0 else {
            close(out[0])
            close(out[1])
            throw CommandRunnerError(description: "pipe: \(String(cString: strerror(errno)))")
        }
        // Not inherited by any other child (the child gets its ends through dup2, which clears the flag).
        for fd in out + err { _ = fcntl(fd, F_SETFD, FD_CLOEXEC) }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_adddup2(&actions, out[1], 1)
        posix_spawn_file_actions_adddup2(&actions, err[1], 2)
        // Nothing else of the daemon's: not its sockets or LMDB file, nor a descriptor some library opened without
        // O_CLOEXEC (a child holding a file open for writing makes executing that file fail with ETXTBSY).
        _ = addCloseFrom?(&actions, 3)
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        var noSignals = sigset_t()
        var allSignals = sigset_t()
        sigemptyset(&noSignals)
        sigfillset(&allSignals)
        posix_spawnattr_setsigmask(&attributes, &noSignals)
        posix_spawnattr_setsigdefault(&attributes, &allSignals)
        posix_spawnattr_setpgroup(&attributes, 0)
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETPGROUP))

        let argv = ([executable] + arguments).map { strdup($0) } + [nil]
        let envp = environment.map { strdup("\($0.key)=\($0.value)") } + [nil]
        defer { for pointer in argv + envp { free(pointer) } }
        var pid: pid_t = 0
        let rc = posix_spawn(&pid, executable, &actions, &attributes, argv, envp)
        close(out[1])
        close(err[1])
        guard rc == 0 else {
            close(out[0])
            close(err[0])
            throw CommandRunnerError(description: String(cString: strerror(rc)))
        }
        return (Child(pid: pid), out[0], err[0])
    }

    /// Reads a descriptor until end of file.
    static func readToEnd(_ fd: Int32) -> [UInt8] {
        var result: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 65_536)
        while true {
            let n = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if n > 0 {
                result.append(contentsOf: buffer[0..<n])
                continue
            }
            if n < 0 && errno == EINTR { continue }
            return result
        }
    }

    /// The executable a command name refers to: itself when it contains a slash, else the first match in PATH.
    package static func resolve(_ command: String, searchPath: String?) -> String? {
        let fm = FileManager.default
        if command.contains("/") { return fm.isExecutableFile(atPath: command) ? command : nil }
        for directory in (searchPath ?? "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin").split(separator: ":") {
            let candidate = "\(directory)/\(command)"
            if fm.isExecutableFile(atPath: candidate) { return candidate }
        }
        return nil
    }
}
