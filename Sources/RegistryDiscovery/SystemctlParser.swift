import Foundation

/// Parses `systemctl` output. Pure functions over captured text: no process is run here.
public enum SystemctlParser {
    public struct ParseError: Error, Sendable, CustomStringConvertible {
        public let description: String
    }

    /// `list-units --output=json`: an array of `{"unit","load","active","sub","description"}` objects.
    public static func listUnitsJSON(_ bytes: [UInt8]) throws -> [ListedUnit] {
        struct Row: Decodable {
            let unit: String
            let load: String?
            let active: String?
            let sub: String?
            let description: String?
        }
        let rows: [Row]
        do {
            rows = try JSONDecoder().decode([Row].self, from: Data(bytes))
        } catch {
            throw ParseError(description: "systemctl list-units did not print a JSON array of units")
        }
        return rows.map {
            ListedUnit(
                name: $0.unit, loadState: $0.load ?? "", activeState: $0.active ?? "", subState: $0.sub ?? "",
                description: $0.description ?? "")
        }
    }

    /// `list-units --plain --no-legend` (or without `--plain`, where failed and not-found units carry a `●`
    /// or `*` marker): `UNIT LOAD ACTIVE SUB DESCRIPTION…`, the description keeping its inner spacing.
    public static func listUnitsPlain(_ text: String) -> [ListedUnit] {
        var units: [ListedUnit] = []
        for line in text.split(whereSeparator: \.isNewline) {
            var rest = Substring(line)
            var fields: [String] = []
            while fields.count < 4 {
                rest = rest.drop(while: \.isWhitespace)
                guard !rest.isEmpty else { break }
                let field = rest.prefix(while: { !$0.isWhitespace })
                rest = rest.dropFirst(field.count)
                // A status marker column precedes the unit name on terminals and in non-plain output.
                if fields.isEmpty, field.count == 1, !(field.first!.isLetter || field.first!.isNumber) { continue }
                fields.append(String(field))
            }
            // Headers, legends and blank lines have no unit name with a type suffix.
            guard fields.count == 4, fields[0].contains("."), fields[0] != "UNIT" else { continue }
            let description = String(rest.drop(while: \.isWhitespace)).trimmingCharacters(in: .whitespaces)
            units.append(
                ListedUnit(
                    name: fields[0], loadState: fields[1], activeState: fields[2], subState: fields[3],
                    description: description))
        }
        return units
    }

    /// `show -p …` for several units: `key=value` blocks separated by blank lines, one block per unit in the
    /// order asked. systemd 252 prints the properties in its own order, not the order of `-p`.
    public static func show(_ text: String) -> [UnitProperties] {
        var blocks: [[String: String]] = []
        var current: [String: String] = [:]
        for line in text.split(omittingEmptySubsequences: false, whereSeparator: \.isNewline) {
            if line.isEmpty {
                if !current.isEmpty {
                    blocks.append(current)
                    current = [:]
                }
                continue
            }
            guard let equals = line.firstIndex(of: "=") else { continue }
            current[String(line[..<equals])] = String(line[line.index(after: equals)...])
        }
        if !current.isEmpty { blocks.append(current) }
        return blocks.compactMap { block in
            guard let id = block["Id"], !id.isEmpty else { return nil }
            let cgroup = block["ControlGroup"].flatMap { $0.isEmpty ? nil : $0 }
            return UnitProperties(
                id: id,
                description: block["Description"],
                loadState: block["LoadState"] ?? "",
                activeState: block["ActiveState"] ?? "",
                subState: block["SubState"] ?? "",
                mainPID: block["MainPID"].flatMap { Int($0) } ?? 0,
                controlGroup: cgroup,
                restarts: block["NRestarts"].flatMap { Int($0) }
            )
        }
    }

    /// The properties asked of `systemctl show`.
    public static let showProperties = ["Id", "Description", "LoadState", "ActiveState", "SubState", "MainPID", "ControlGroup", "NRestarts"]
}
