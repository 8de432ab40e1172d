import Foundation
import Testing

@testable import RegistryModel

/// The installed unit gives the daemon CAP_SYS_PTRACE and CAP_DAC_READ_SEARCH and nothing else
/// (packaging/service-registry.service). Discovery must still see the ports of a process owned by another
/// user, and systemctl queries must still work. The listener runs as `nobody` inside a unit of the private
/// user manager; `service-registry discover` runs with only those two capabilities (its uid stays 0, since a
/// user manager answers only its own user, but the listener's uid differs, so the kernel applies exactly the
/// checks an unprivileged daemon meets). Controls: no capability, and each capability alone, see no port.
@Suite(
    .serialized,
    .enabled(
        if: SystemdUserManager.isAvailable && FileManager.default.isExecutableFile(atPath: "/usr/bin/setpriv"),
        Comment(rawValue: SystemdUserManager.unavailableReason ?? "setpriv is missing")),
    .systemdUserManager)
struct DiscoveryPrivilegeTests {
    var manager: SystemdUserManager { SystemdUserManager.current! }

    func discover(capabilities: [String]) throws -> (status: Int32, ports: [Int], output: String) {
        let caps = (["-all"] + capabilities.map { "+" + $0 }).joined(separator: ",")
        let result = try SystemdUserManager.run(
            "/usr/bin/setpriv",
            [
                "--inh-caps=\(caps)", "--ambient-caps=\(caps)", "--bounding-set=\(caps)", "--",
                TestPaths.executable, "discover", "--systemd-scope", "user", "--include-unit", "srt-priv-*", "--json",
            ], environment: manager.environment)
        let json = result.output.split(separator: "\n").first { $0.hasPrefix("[") }.flatMap { try? JSONValue.parse(Array($0.utf8)) }
        let ports = json?.array?.first?["ports"]?.array?.compactMap(\.int) ?? []
        return (result.status, ports, result.output)
    }

    @Test func discoveryWithOnlyTheUnitsCapabilitiesSeesAnotherUsersPorts() async throws {
        let m = manager
        let port = DaemonProcess.freePort()
        try await blocking {
            try m.install(
                "srt-priv-nobody.service",
                """
                [Unit]
                Description=Listener owned by nobody
                [Service]
                Nice=15
                ExecStart=/usr/bin/setpriv --reuid=nobody --regid=nogroup --clear-groups /usr/bin/python3 -c "import socket,time; s=socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1); s.bind(('127.0.0.1', \(port))); s.listen(); time.sleep(600)"
                """)
            try m.systemctl("start", "srt-priv-nobody.service")
            try waitUntilListening(port)
        }
        defer { _ = try? m.systemctl("stop", "srt-priv-nobody.service") }
        let pid = try #require(Int(try m.property("srt-priv-nobody.service", "MainPID")))
        let owner = try String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8).split(separator: "\n").first { $0.hasPrefix("Uid:") }
        #expect(owner?.split(separator: "\t").dropFirst().first == "65534", "the listener must belong to nobody: \(owner ?? "")")

        let unitCapabilities = try discover(capabilities: ["sys_ptrace", "dac_read_search"])
        #expect(unitCapabilities.status == 0, "systemctl queries must work: \(unitCapabilities.output)")
        #expect(unitCapabilities.ports == [port], "\(unitCapabilities.output)")

        for control in [[], ["sys_ptrace"], ["dac_read_search"]] {
            let result = try discover(capabilities: control)
            #expect(result.status == 0, "\(result.output)")
            #expect(result.ports.isEmpty, "with only \(control) the port should stay hidden, or the unit grants more than needed: \(result.output)")
        }
    }
}
