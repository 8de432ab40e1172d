import Foundation
import Testing

@testable import RegistrySupport

/// SPEC §11 "Installed means protected" and "The unit runs with least privilege", checked without running
/// install.sh as root on this machine: the unit file's systemd score, and install.sh's functions run on temp files.
@Suite struct PackagingTests {
    static let unit = TestPaths.packageRoot.appendingPathComponent("packaging/service-registry.service").path
    static let install = TestPaths.packageRoot.appendingPathComponent("scripts/install.sh").path

    static func shell(_ script: String, _ arguments: [String] = []) throws -> (status: Int32, output: String) {
        try SystemdUserManager.run("/bin/bash", ["-c", script, "test"] + arguments, environment: [:])
    }

    @Test func theUnitScoresThreeOrLessWithSystemdAnalyze() throws {
        try #require(FileManager.default.isExecutableFile(atPath: "/usr/bin/systemd-analyze"), "systemd-analyze is missing (apt-get install systemd)")
        let result = try SystemdUserManager.run("/usr/bin/systemd-analyze", ["security", "--offline=true", Self.unit], environment: [:])
        let last = try #require(result.output.split(separator: "\n").last { $0.contains("Overall exposure level") }, "\(result.output)")
        let score = try #require(last.split(separator: " ").compactMap { Double($0) }.last, "\(last)")
        print("systemd-analyze security --offline=true: \(score)")
        #expect(score <= 3.0, "\(last)")
    }

    @Test func theUnitKeepsWhatTheDaemonNeeds() throws {
        let text = try String(contentsOfFile: Self.unit, encoding: .utf8)
        let lines = Set(text.split(separator: "\n").map { $0.trimmingCharacters(in: .whitespaces) })
        for required in [
            "Type=notify", "WatchdogSec=30s", "LimitNOFILE=65536", "User=service-registry", "UMask=0077",
            "StateDirectory=service-registry", "EnvironmentFile=-/etc/default/service-registry",
            "CapabilityBoundingSet=CAP_SYS_PTRACE CAP_DAC_READ_SEARCH", "AmbientCapabilities=CAP_SYS_PTRACE CAP_DAC_READ_SEARCH",
            "SystemCallFilter=@system-service", "RestrictAddressFamilies=AF_UNIX AF_INET AF_INET6",
            "ProtectKernelTunables=yes", "ProtectKernelModules=yes", "ProtectControlGroups=yes", "PrivateDevices=yes",
        ] {
            #expect(lines.contains(required), "missing \(required)")
        }
        // Discovery reads every process and /proc/net/tcp: these would blind it.
        for forbidden in ["ProtectProc=invisible", "ProcSubset=pid", "PrivateNetwork=yes", "PrivateUsers=yes"] {
            #expect(!lines.contains(forbidden), "\(forbidden) would hide the ports discovery must see")
        }
    }

    @Test func installCreatesTheSettingsFileOnceWithARandomToken() throws {
        let directory = TemporaryDirectory("install-settings")
        let file = directory.file("service-registry")
        let first = try Self.shell("source \"$1\" && write_settings_file \"$2\"", [Self.install, file])
        #expect(first.status == 0, "\(first.output)")
        #expect(first.output.contains(file), "says where it is: \(first.output)")
        let attributes = try FileManager.default.attributesOfItem(atPath: file)
        #expect((attributes[.posixPermissions] as? Int) == 0o600)
        let contents = try String(contentsOfFile: file, encoding: .utf8)
        let token = try #require(TokenFile.token(in: contents))
        #expect(token.count == 64 && token.allSatisfy(\.isHexDigit), "\(token)")
        // Never overwritten.
        #expect(try Self.shell("source \"$1\" && write_settings_file \"$2\"", [Self.install, file]).status == 0)
        #expect(try String(contentsOfFile: file, encoding: .utf8) == contents)
        // Another install elsewhere draws another token.
        let other = directory.file("other")
        _ = try Self.shell("source \"$1\" && write_settings_file \"$2\"", [Self.install, other])
        #expect(TokenFile.read(path: other) != token)
    }

    @Test func installAddsATokenToAnOlderSettingsFileButRespectsAnExplicitEmptyOne() throws {
        let directory = TemporaryDirectory("install-settings")
        let older = directory.file("older")
        try "SERVICE_REGISTRY_PORT=9000\n".write(toFile: older, atomically: true, encoding: .utf8)
        _ = try Self.shell("source \"$1\" && write_settings_file \"$2\"", [Self.install, older])
        let text = try String(contentsOfFile: older, encoding: .utf8)
        #expect(text.hasPrefix("SERVICE_REGISTRY_PORT=9000\n"))
        #expect(TokenFile.token(in: text)?.count == 64)
        let open = directory.file("open")
        try "SERVICE_REGISTRY_TOKEN=\n".write(toFile: open, atomically: true, encoding: .utf8)
        _ = try Self.shell("source \"$1\" && write_settings_file \"$2\"", [Self.install, open])
        #expect(try String(contentsOfFile: open, encoding: .utf8) == "SERVICE_REGISTRY_TOKEN=\n")
    }

    /// The no-systemd branch stops the instance whose PID it recorded, and only if that PID is still the
    /// installed binary: never `pkill -f`, which also killed other instances (and anything whose command line matched).
    @Test func installStopsOnlyTheDaemonItStarted() throws {
        let script = try String(contentsOfFile: Self.install, encoding: .utf8)
        #expect(!script.contains("pkill"))
        #expect(!script.contains("killall"))
        let directory = TemporaryDirectory("install-pid")
        let pidFile = directory.file("service-registry.pid")
        let bystander = Process()
        bystander.executableURL = URL(fileURLWithPath: "/bin/sleep")
        bystander.arguments = ["60"]
        try bystander.run()
        defer { if bystander.isRunning { kill(bystander.processIdentifier, SIGKILL) } }
        try "\(bystander.processIdentifier)\n".write(toFile: pidFile, atomically: true, encoding: .utf8)
        let result = try Self.shell("source \"$1\" && stop_background_daemon \"$2\"", [Self.install, pidFile])
        #expect(result.status == 0, "\(result.output)")
        #expect(bystander.isRunning, "a PID that is not the installed binary must not be signalled")
        #expect(!FileManager.default.fileExists(atPath: pidFile))
    }
}
