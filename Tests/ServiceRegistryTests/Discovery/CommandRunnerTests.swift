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
