import Foundation
import Synchronization

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

        // Kill the command at the deadline; `state` makes sure a PID that already exited is never signalled.
        let pid = process.processIdentifier
        let state = Mutex<(finished: Bool, timedOut: Bool)>((false, false))
        let killer = DispatchWorkItem {
            state.withLock { s in
                guard !s.finished else { return }
                s.timedOut = true
                kill(pid, SIGKILL)
            }
        }
        BlockingWork.queue.asyncAfter(deadline: .now() + timeout, execute: killer)

        // Both pipes are drained at once so a chatty stderr cannot block the command.
        let errorBytes = Mutex<Data>(Data())
        let errorRead = DispatchGroup()
        errorRead.enter()
        let errorHandle = stderr.fileHandleForReading
        BlockingWork.queue.async {
            let data = (try? errorHandle.readToEnd()) ?? Data()
            errorBytes.withLock { $0 = data }
            errorRead.leave()
        }
        let output = (try? stdout.fileHandleForReading.readToEnd()) ?? Data()
        errorRead.wait()
        process.waitUntilExit()
        let timedOut = state.withLock { s in s.finished = true; return s.timedOut }
        killer.cancel()
        return CommandOutput(status: process.terminationStatus, stdout: Array(output), stderr: Array(errorBytes.withLock { $0 }),
                             timedOut: timedOut)
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
