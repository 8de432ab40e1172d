import ArgumentParser
import Foundation
import RegistryApp
import RegistryDiscovery
import RegistryModel

/// `service-registry discover`: what a scan would find on this host, without a daemon or a data directory.
struct DiscoverCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "discover",
        abstract: "Show the systemd services and listening ports a scan would find on this host (no daemon needed)."
    )

    // The discovery options of `serve`, from the same table (`discover` reads no environment variables).
    typealias O = ConfigurationOptions
    @Option(help: ArgumentHelp(O.systemctl.help)) var systemctl: String = O.systemctl.defaultValue
    @Option(help: ArgumentHelp(O.systemdScope.help)) var systemdScope: String = O.systemdScope.defaultValue.rawValue
    @Option(help: ArgumentHelp(O.portRange.help)) var portRange: String?
    @Option(help: ArgumentHelp(O.includeUnit.help)) var includeUnit: [String] = []
    @Option(help: ArgumentHelp(O.excludeUnit.help)) var excludeUnit: [String] = []
    @Flag(help: "Print JSON instead of a table.") var json = false

    func run() async throws {
        let scope: SystemdScope
        let range: PortRange
        do {
            scope = try O.systemdScope.resolve(text: systemdScope, environment: [:])
            range = try O.portRange.resolve(text: portRange, environment: [:])
        } catch {
            fail(error.message, code: 2)
        }
        let options = DiscoveryOptions(systemctlPath: systemctl, scope: scope, portRange: range, includeUnits: includeUnit, excludeUnits: excludeUnit)
        let scan: HostScan
        do {
            scan = try await SystemdDiscoverer(options: options).scan()
        } catch {
            fail("\(error)")
        }
        let units = scan.units.sorted { $0.name < $1.name }
        let output = json ? Self.json(units, range: range) : Self.table(units, range: range)
        FileHandle.standardOutput.write(Data(output.utf8))
    }

    /// One object per unit, the fields a record would get.
    static func json(_ units: [DiscoveredUnit], range: PortRange) -> String {
        var w = JSONWriter()
        w.beginArray()
        for unit in units {
            let port = unit.webPort(in: range)
            w.comma()
            w.beginObject()
            w.key("unit")
            w.string(unit.name)
            w.key("status")
            w.string(unit.status.rawValue)
            w.key("load_state")
            w.string(unit.properties.loadState)
            w.key("active_state")
            w.string(unit.properties.activeState)
            w.key("sub_state")
            w.string(unit.properties.subState)
            w.key("main_pid")
            w.optional(unit.properties.mainPID > 0 ? unit.properties.mainPID : nil)
            w.key("restarts")
            w.optional(unit.properties.restarts)
            w.key("port")
            w.optional(port)
            w.key("ports")
            w.beginArray()
            for p in unit.ports {
                w.comma()
                w.int(p)
            }
            w.endArray()
            w.key("url")
            w.optional(port.map(HTTPCheck.discoveredURL(port:)))
            w.key("description")
            w.optional(unit.displayDescription)
            w.endObject()
        }
        w.endArray()
        return String(decoding: w.bytes, as: UTF8.self) + "\n"
    }

    static func table(_ units: [DiscoveredUnit], range: PortRange) -> String {
        let header = ["UNIT", "STATUS", "STATE", "PORT", "PORTS", "DESCRIPTION"]
        let rows = units.map { unit -> [String] in
            [
                unit.name, unit.status.rawValue, "\(unit.properties.activeState)/\(unit.properties.subState)",
                unit.webPort(in: range).map(String.init) ?? "-", unit.ports.isEmpty ? "-" : unit.ports.map(String.init).joined(separator: ","),
                unit.displayDescription ?? "",
            ]
        }
        var widths = header.map(\.count)
        for row in rows { for i in 0..<row.count - 1 { widths[i] = max(widths[i], row[i].count) } }
        func line(_ row: [String]) -> String {
            row.enumerated().map { i, cell in
                i == row.count - 1 ? cell : cell.padding(toLength: widths[i], withPad: " ", startingAt: 0)
            }.joined(separator: "  ").trimmingCharacters(in: .whitespaces)
        }
        var text = ([header] + rows).map(line).joined(separator: "\n") + "\n"
        let listening = units.filter { !$0.ports.isEmpty }.count
        text += "\n\(units.count) service units, \(listening) listening\n"
        return text
    }
}
