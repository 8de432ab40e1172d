import Foundation
import Testing

@testable import RegistrySupport

/// The installed unit's sandbox must not break the daemon: its system-call filter, W^X memory, address
/// families, namespace/realtime/personality restrictions, UMask, file limit and `Type=notify` are taken from
/// packaging/service-registry.service itself and applied by a real systemd (the private user manager, which
/// honours these directives; `User=`, capabilities and the mount protections need the system manager and are
/// left out). Its settings file is the one install.sh's `write_settings_file` creates, read through the unit's
/// `EnvironmentFile=`, as installed. The daemon must become ready (READY=1 reaches systemd), refuse writes
/// without the generated token, scan and probe with it, create its files 0600, and the client subcommands must
/// find the token in that file.
@Suite(
    .serialized, .enabled(if: SystemdUserManager.isAvailable, Comment(rawValue: SystemdUserManager.unavailableReason ?? "")),
    .systemdUserManager)
struct SandboxedUnitTests {
    var manager: SystemdUserManager { SystemdUserManager.current! }

    /// Directives of the unit's [Service] section that a user manager applies.
    static let applicable: Set<String> = [
        "Type", "NotifyAccess", "WatchdogSec", "UMask", "NoNewPrivileges", "LimitNOFILE", "SystemCallFilter",
        "SystemCallErrorNumber", "SystemCallArchitectures", "MemoryDenyWriteExecute", "RestrictAddressFamilies",
        "RestrictNamespaces", "RestrictRealtime", "RestrictSUIDSGID", "LockPersonality", "Environment",
    ]

    static func unitProperties() throws -> [String] {
        let text = try String(contentsOfFile: PackagingTests.unit, encoding: .utf8)
        var inService = false
        var properties: [String] = []
        for raw in text.split(separator: "\n") {
            let line = raw.trimmingCharacters(in: .whitespaces)
            if line.hasPrefix("[") {
                inService = line == "[Service]"
                continue
            }
            guard inService, !line.hasPrefix("#"), let equals = line.firstIndex(of: "=") else { continue }
            if applicable.contains(String(line[..<equals])) { properties.append(line) }
        }
        return properties
    }

    @Test func theDaemonRunsUnderTheUnitsSandbox() async throws {
        let m = manager
        let properties = try Self.unitProperties()
        for required in ["SystemCallFilter=@system-service", "MemoryDenyWriteExecute=yes", "UMask=0077", "Type=notify"] {
            #expect(properties.contains(required), "the unit lost \(required)")
        }
        let port = DaemonProcess.freePort()
        let data = m.base + "/sandboxed-data"
        let log = m.base + "/sandboxed.log"
        let settings = m.base + "/service-registry.settings"
        let written = try PackagingTests.shell("source \"$1\" && write_settings_file \"$2\"", [PackagingTests.install, settings])
        #expect(written.status == 0, "\(written.output)")
        let token = try #require(TokenFile.read(path: settings))
        let auth = ["Authorization": "Bearer \(token)"]
        let result = try await blocking {
            try SystemdUserManager.run(
                "/usr/bin/systemd-run",
                ["--user", "--unit=srt-sandboxed"]
                    + properties.flatMap { ["-p", $0] }
                    + [
                        "-p", "EnvironmentFile=\(settings)", "-p", "Environment=XDG_RUNTIME_DIR=\(m.runtimeDirectory)", "-p",
                        "StandardOutput=append:\(log)", "-p", "StandardError=append:\(log)",
                        TestPaths.executable, "serve", "--host", "127.0.0.1", "--port", "\(port)", "--data-dir", data,
                        "--systemd-scope", "user", "--scan-interval", "0", "--probe-interval", "3600",
                    ],
                environment: m.environment)
        }
        defer { _ = try? m.systemctl("stop", "srt-sandboxed.service") }
        #expect(result.status == 0, "\(result.output)")
        // systemd-run returns once the unit is started; Type=notify means started = READY=1 received.
        try await blocking { try m.waitFor("srt-sandboxed.service", activeState: "active", timeout: 30) }
        let base = "http://127.0.0.1:\(port)"
        let ready = try await blocking { try HTTP.request("GET", "\(base)/ready") }
        #expect(ready.status == 200)
        let refused = try await blocking { try HTTP.request("POST", "\(base)/api/scan") }
        #expect(refused.status == 401, "installed means protected: \(refused.body)")
        let scan = try await blocking { try HTTP.request("POST", "\(base)/api/scan", headers: auth) }
        #expect(scan.status == 200, "systemctl under the filter: \(scan.body)")
        #expect(scan.json?["services"]?.array?.contains { $0["name"]?.string == "srt-sandboxed.service" } == true)
        // The client finds the token in the settings file.
        let registered = try await blocking {
            try SystemdUserManager.run(
                TestPaths.executable, ["register", "--registry", base, "--name", "self", "--url", "\(base)/health"],
                environment: ["SERVICE_REGISTRY_TOKEN": "", "SERVICE_REGISTRY_TOKEN_FILE": settings])
        }
        #expect(registered.status == 0, "\(registered.output)")
        let listed = try await blocking { try HTTP.request("GET", "\(base)/api/services") }
        let id = try #require(listed.json?.array?.first { $0["name"]?.string == "self" }?["id"]?.int, "\(listed.body)")
        let checked = try await blocking { try HTTP.request("POST", "\(base)/api/services/\(id)/check", headers: auth) }
        #expect(checked.json?["health_status"]?.string == "healthy", "libcurl under the filter: \(checked.body)")
        for file in try FileManager.default.contentsOfDirectory(atPath: data) {
            let mode = try FileManager.default.attributesOfItem(atPath: data + "/" + file)[.posixPermissions] as? Int
            #expect(mode.map { $0 & 0o077 == 0 } == true, "\(file) is readable by others: \(String(mode ?? 0, radix: 8))")
        }
        #expect(try m.property("srt-sandboxed.service", "SubState") == "running")
        let output = (try? String(contentsOfFile: log, encoding: .utf8)) ?? ""
        #expect(!output.contains("Bad system call") && !output.contains("EPERM"), "\(output)")
    }
}
