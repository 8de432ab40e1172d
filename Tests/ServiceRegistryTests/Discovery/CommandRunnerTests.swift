import Foundation
import Testing

@testable import RegistryDiscovery

/// The runner behind every systemctl call: output, exit status, deadline, and (issue 11) a deadline killer
/// that can never signal a PID after the child was reaped (the kernel may have given that PID to another process).
@Suite struct CommandRunnerTests {
    @Test func outputAndExitStatus() throws {
        let output = try CommandRunner.runBlocking(
            executable: "/bin/sh", arguments: ["-c", "echo out; echo err >&2; exit 3"],
            environment: ["PATH": "/usr/bin:/bin"], timeout: 30)
        #expect(output.status == 3)
        #expect(String(decoding: output.stdout, as: UTF8.self) == "out\n")
        #expect(output.stderrText == "err")
        #expect(!output.timedOut)
    }

    @Test func theDeadlineKillsAHungCommand() throws {
        let start = Date()
        let output = try CommandRunner.runBlocking(executable: "/bin/sleep", arguments: ["60"], environment: [:], timeout: 0.5)
        #expect(output.timedOut)
        #expect(output.status == SIGKILL)
        #expect(Date().timeIntervalSince(start) < 30)
    }

    @Test func aMissingExecutableIsAnError() {
        #expect(throws: CommandRunnerError.self) {
            try CommandRunner.runBlocking(executable: "/nonexistent/systemctl", arguments: [], environment: [:], timeout: 5)
        }
    }

    /// The deadline fires after the child was reaped (the seam holds the runner there well past it): the
    /// killer must do nothing. Foundation's `Process` reaped on its own thread, so the old runner's killer could
    /// fire in exactly this window and `kill()` a PID that no longer was its child.
    @Test func aDeadlineFiringAfterTheReapSignalsNothing() throws {
        // /bin/true is reaped long before 5 s even on a loaded machine; the deadline then fires while the seam waits.
        let output = try CommandRunner.runBlocking(
            executable: "/bin/true", arguments: [], environment: [:], timeout: 5,
            afterReap: { Thread.sleep(forTimeInterval: 8) })
        #expect(!output.timedOut, "the killer fired after the child was reaped")
        #expect(output.status == 0)
    }

    /// A systemctl child gets stdin, stdout and stderr and nothing else of the daemon's: not its listening sockets,
    /// the LMDB file or a file another thread is writing. A CI run failed with "Text file busy" because a child
    /// spawned here held a test's half-written script open for writing while another test executed it.
    @Test func theChildInheritsNoOtherDescriptors() throws {
        let directory = TemporaryDirectory()
        let marker = directory.file("held-open-for-writing")
        // Opened without O_CLOEXEC, as mkstemp and many C libraries do.
        let fd = open(marker, O_WRONLY | O_CREAT, 0o600)
        #expect(fd >= 0)
        defer { close(fd) }
        let output = try CommandRunner.runBlocking(
            executable: "/bin/ls", arguments: ["-l", "/proc/self/fd"],
            environment: ["PATH": "/usr/bin:/bin"], timeout: 30)
        let open = String(decoding: output.stdout, as: UTF8.self).split(separator: "\n").filter { $0.contains(" -> ") }
        #expect(output.status == 0)
        #expect(!open.contains { $0.hasSuffix("held-open-for-writing") }, "the child holds \(open)")
        #expect(open.count <= 4, "the child holds \(open)")  // 0, 1, 2 and ls's own directory listing
    }

    @Test func aReapedChildIsNeverSignalled() throws {
        let (child, out, err) = try CommandRunner.spawn(executable: "/bin/sleep", arguments: ["60"], environment: [:])
        defer {
            close(out)
            close(err)
        }
        #expect(child.signalIfNotReaped(SIGKILL))
        let status = child.waitAndReap()
        #expect(status & 0x7F == SIGKILL)
        #expect(!child.signalIfNotReaped(SIGKILL))
    }
}
