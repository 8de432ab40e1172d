import Foundation
import Testing

@testable import RegistryDiscovery
@testable import RegistryModel

private func fixture(_ name: String) throws -> [UInt8] {
    Array(try Data(contentsOf: URL(fileURLWithPath: TestPaths.fixture("discovery/\(name)"))))
}

private func fixtureText(_ name: String) throws -> String { String(decoding: try fixture(name), as: UTF8.self) }

@Suite struct SystemctlParserTests {
    /// Captured from systemd 252's user manager (`list-units --type=service --all --output=json`).
    @Test func listUnitsJSONFromSystemd252() throws {
        let units = try SystemctlParser.listUnitsJSON(try fixture("list-units-252.json"))
        #expect(units.count == 9)
        let web = try #require(units.first { $0.name == "web-front.service" })
        #expect(
            web
                == ListedUnit(
                    name: "web-front.service", loadState: "loaded", activeState: "active", subState: "running",
                    description: "Web front – café ☕ \"quoted\" <b>bold</b>"))
        let broken = try #require(units.first { $0.name == "broken.service" })
        #expect(broken.activeState == "failed" && broken.subState == "failed")
        let missing = try #require(units.first { $0.name == "missing-dependency.service" })
        #expect(missing.loadState == "not-found")
    }

    @Test func listUnitsJSONRejectsOtherOutput() {
        #expect(throws: SystemctlParser.ParseError.self) { try SystemctlParser.listUnitsJSON(Array("Unknown output 'json'.".utf8)) }
        #expect(throws: SystemctlParser.ParseError.self) { try SystemctlParser.listUnitsJSON(Array(#"{"unit":"a.service"}"#.utf8)) }
    }

    /// The plain fallback gives the same units as JSON, on the same manager.
    @Test func listUnitsPlainMatchesJSON() throws {
        let json = try SystemctlParser.listUnitsJSON(try fixture("list-units-252.json"))
        #expect(SystemctlParser.listUnitsPlain(try fixtureText("list-units-252-plain.txt")) == json)
        // Without --plain, failed and not-found units carry a ● marker column.
        #expect(SystemctlParser.listUnitsPlain(try fixtureText("list-units-252-markers.txt")) == json)
    }

    /// Hand-written: header and legend, `*`/`●`/`×` markers, spaces inside descriptions, unicode, no description.
    @Test func listUnitsPlainEdgeCases() throws {
        let units = SystemctlParser.listUnitsPlain(try fixtureText("list-units-legacy.txt"))
        #expect(
            units.map(\.name) == [
                "api@blue.service", "broken.service", "cron.service", "crashed.service",
                "ghost.service", "nodesc.service", "ssh.service",
            ])
        #expect(units[0].description == "API   (blue   instance)")
        #expect(units[3].description == "Crashed – ünïcode ✓ <script>alert(1)</script>")
        #expect(units[3].activeState == "failed")
        #expect(units[4].loadState == "not-found")
        #expect(units[5] == ListedUnit(name: "nodesc.service", loadState: "loaded", activeState: "inactive", subState: "dead", description: ""))
    }

    @Test func showBlocksFromSystemd252() throws {
        let blocks = SystemctlParser.show(try fixtureText("show-252.txt"))
        #expect(
            blocks.map(\.id) == [
                "broken.service", "child-web.service", "web-front.service", "two-ports.service",
                "missing-dependency.service", "nonexistent.service", "dbus.service",
            ])
        let web = blocks[2]
        #expect(web.description == "Web front – café ☕ \"quoted\" <b>bold</b>")
        #expect(web.activeState == "active" && web.subState == "running" && web.loadState == "loaded")
        #expect(web.mainPID == 20430)
        #expect(web.controlGroup?.hasSuffix("/app.slice/web-front.service") == true)
        #expect(web.restarts == 0)
        #expect(blocks[0].controlGroup == nil && blocks[0].mainPID == 0 && blocks[0].activeState == "failed")
        #expect(!blocks[5].exists && blocks[2].exists)
    }

    @Test func showEdgeCases() throws {
        let blocks = SystemctlParser.show(try fixtureText("show-edge.txt"))
        #expect(blocks.count == 3)
        #expect(blocks[0].description == "key=value in a description  with  spaces")
        #expect(blocks[0].restarts == 7 && blocks[0].mainPID == 42)
        #expect(DiscoveredUnit(properties: blocks[0], ports: []).status == .active)  // reloading counts as active
        #expect(!blocks[1].exists)
        #expect(blocks[2].id == "partial.service" && blocks[2].mainPID == 0 && blocks[2].controlGroup == nil)
        #expect(DiscoveredUnit(properties: blocks[2], ports: []).status == .inactive)  // activating is not active yet
    }

    @Test func statusMapping() {
        let cases: [(String, ServiceStatus)] = [
            ("active", .active), ("reloading", .active), ("failed", .failed),
            ("inactive", .inactive), ("activating", .inactive), ("deactivating", .inactive),
            ("maintenance", .inactive), ("not-found", .inactive),
            ("refreshing", .inactive),
        ]
        for (state, status) in cases { #expect(ServiceStatus(systemdActiveState: state) == status, "\(state)") }
    }

    /// A unit whose Description= is unset is described by its own name; that is not worth storing.
    @Test func descriptionEqualToUnitNameIsDropped() {
        let unit = DiscoveredUnit(
            properties: UnitProperties(id: "a.service", description: "a.service", activeState: "active", subState: "running"), ports: [])
        #expect(unit.displayDescription == nil)
    }
}

@Suite struct ProcNetTCPParserTests {
    /// Captured while a process listened on 0.0.0.0:28080 and 127.0.0.1:28443 with an established connection to 28443.
    @Test func ipv4ListenersOnly() throws {
        let sockets = ProcNetTCPParser.listeningSockets(try fixture("proc-net-tcp.txt"))
        #expect(sockets.count == 7)
        #expect(sockets.contains(ListeningSocket(port: 28080, inode: 108733, address: "0.0.0.0")))
        #expect(sockets.contains(ListeningSocket(port: 28443, inode: 108734, address: "127.0.0.1")))
        // The accepted connection on 28443 (ESTABLISHED) and TIME_WAIT entries are not listeners.
        #expect(!sockets.contains { $0.inode == 108739 || $0.inode == 108738 || $0.inode == 0 })
        #expect(sockets.first == ListeningSocket(port: 2024, inode: 1597, address: "0.0.0.0"))
    }

    /// Captured with listeners on [::]:28500 (dual-stack), [::1]:28501 and [::ffff:127.0.0.1]:28502.
    @Test func ipv6ListenersIncludingV4Mapped() throws {
        let sockets = ProcNetTCPParser.listeningSockets(try fixture("proc-net-tcp6.txt"))
        #expect(
            sockets == [
                ListeningSocket(port: 28501, inode: 108736, address: "::1"),
                ListeningSocket(port: 28500, inode: 108735, address: "::"),
                ListeningSocket(port: 28502, inode: 108737, address: "::ffff:127.0.0.1"),
            ])
    }

    /// Hand-written: zero inodes, non-LISTEN states, malformed and truncated rows, a non-loopback address.
    @Test func malformedRowsAreSkipped() throws {
        let sockets = ProcNetTCPParser.listeningSockets(try fixture("proc-net-tcp-edge.txt"))
        #expect(
            sockets == [
                ListeningSocket(port: 8080, inode: 5001, address: "127.0.0.1"),
                ListeningSocket(port: 443, inode: 5008, address: "192.168.1.10"),
            ])
        #expect(ProcNetTCPParser.listeningSockets([]) == [])
    }

    @Test func ipv6Formatting() {
        func text(_ hex: String) -> String? { ProcNetTCPParser.address(hex: Array(hex.utf8)[...]) }
        #expect(text("B80D0120000000000000000001000000") == "2001:db8::1")
        #expect(text("000080FE00000000FF00FC00010000FE") == "fe80::fc:ff:fe00:1")
        #expect(text("00000000000000000000000000000000") == "::")
        #expect(text("0000") == nil)
    }
}

@Suite struct DiscoveryOptionsTests {
    @Test func onlyServiceUnitsThroughGlobs() {
        var options = DiscoveryOptions()
        #expect(options.accepts(unit: "nginx.service"))
        #expect(!options.accepts(unit: "nginx.socket"))
        #expect(!options.accepts(unit: "user.slice"))
        options.includeUnits = ["web-*", "api@*.service"]
        options.excludeUnits = ["*-debug.service"]
        #expect(options.accepts(unit: "web-front.service"))
        #expect(options.accepts(unit: "api@blue.service"))
        #expect(!options.accepts(unit: "web-front-debug.service"))
        #expect(!options.accepts(unit: "cron.service"))
    }

    @Test func discoveredURL() {
        #expect(HTTPCheck.discoveredURL(port: 8080) == "http://127.0.0.1:8080")
        #expect(HTTPCheck.discoveredURL(port: 443) == "https://127.0.0.1:443")
    }
}

@Suite struct ListeningSectionTests {
    /// Reading stops at the first connection row; listeners before it are all kept.
    @Test func stopsAtTheFirstConnection() throws {
        let section = ListeningPortScanner.listeningSection(TestPaths.fixture("discovery/proc-net-tcp.txt"))
        let text = String(decoding: section, as: UTF8.self)
        #expect(text.split(separator: "\n").count == 8)  // header + 7 listeners
        #expect(ProcNetTCPParser.listeningSockets(section) == ProcNetTCPParser.listeningSockets(try fixture("proc-net-tcp.txt")))
    }

    /// A busy host: thousands of connections after a few listeners are not read.
    @Test func skipsALargeConnectionTable() throws {
        let directory = TemporaryDirectory()
        var text = "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode\n"
        text += "   0: 0100007F:1F90 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 777 1 0000000000000000 100 0 0 10 0\n"
        for i in 1...20_000 {
            text += "   \(i): 0100007F:1F90 0100007F:C8B4 06 00000000:00000000 03:000012F4 00000000     0        0 0 3 0000000025168d96\n"
        }
        let path = directory.file("tcp")
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        let section = ListeningPortScanner.listeningSection(path)
        #expect(section.count <= 8192)
        #expect(ProcNetTCPParser.listeningSockets(section) == [ListeningSocket(port: 8080, inode: 777, address: "127.0.0.1")])
        // No connection row at all: the whole file is read.
        let quiet = directory.file("quiet")
        try String(text.prefix(while: { $0 != "\n" }) + "\n").write(toFile: quiet, atomically: true, encoding: .utf8)
        #expect(ListeningPortScanner.listeningSection(quiet).count > 0)
        #expect(ListeningPortScanner.listeningSection(directory.file("missing")).isEmpty)
    }
}
