import Foundation

/// The settings file `scripts/install.sh` writes (`/etc/default/service-registry`, mode 0600, read by the
/// unit through `EnvironmentFile=`): the client subcommands take the API token from it when no `--token`
/// or `SERVICE_REGISTRY_TOKEN` is given and the file is readable (root, or whoever the admin lets read it).
public enum TokenFile {
    public static let defaultPath = "/etc/default/service-registry"

    /// The file to read: `SERVICE_REGISTRY_TOKEN_FILE` when set (tests, other layouts), else the default.
    public static func path(environment: [String: String]) -> String {
        environment["SERVICE_REGISTRY_TOKEN_FILE"].flatMap { $0.isEmpty ? nil : $0 } ?? defaultPath
    }

    /// The token in the file at `path`, or nil when it is unreadable or holds none.
    public static func read(path: String) -> String? {
        guard let data = FileManager.default.contents(atPath: path) else { return nil }
        return token(in: String(decoding: data, as: UTF8.self))
    }

    /// `SERVICE_REGISTRY_TOKEN=...` (or `SERVICE_REGISTRY_API_TOKEN=...`) in systemd EnvironmentFile syntax:
    /// one assignment per line, `#` comments, optional `export `, optional single or double quotes. The last
    /// assignment wins, as when the file is sourced.
    public static func token(in contents: String) -> String? {
        var token: String?
        for rawLine in contents.split(whereSeparator: \.isNewline) {
            var line = rawLine.trimmingCharacters(in: .whitespaces)
            if line.hasPrefix("#") || line.hasPrefix(";") { continue }
            if line.hasPrefix("export ") { line = String(line.dropFirst(7)).trimmingCharacters(in: .whitespaces) }
            guard let equals = line.firstIndex(of: "=") else { continue }
            let key = line[..<equals].trimmingCharacters(in: .whitespaces)
            guard key == "SERVICE_REGISTRY_TOKEN" || key == "SERVICE_REGISTRY_API_TOKEN" else { continue }
            var value = line[line.index(after: equals)...].trimmingCharacters(in: .whitespaces)
            if value.count >= 2, let first = value.first, first == "\"" || first == "'", value.last == first {
                value = String(value.dropFirst().dropLast())
            }
            token = value.isEmpty ? nil : value
        }
        return token
    }
}
