import ArgumentParser
import Foundation
import RegistryModel
import RegistryProbe
import RegistrySupport

/// Where a client subcommand finds the registry (SPEC §7).
struct RegistryOptions: ParsableArguments {
    @Option(help: "Registry URL (default $SERVICE_REGISTRY_URL or http://127.0.0.1:8000).")
    var registry: String?
    @Option(
        help:
            "Bearer token (default $SERVICE_REGISTRY_TOKEN, else SERVICE_REGISTRY_TOKEN in /etc/default/service-registry when readable; $SERVICE_REGISTRY_TOKEN_FILE names another file)."
    )
    var token: String?
    @Option(help: "PEM CA bundle to trust for an https registry, besides the system's (default $SERVICE_REGISTRY_CA_FILE).")
    var caFile: String?
    @Option(help: "PEM client certificate for a registry that requires mutual TLS (default $SERVICE_REGISTRY_CLIENT_CERT_FILE).")
    var clientCertFile: String?
    @Option(help: "PEM private key of --client-cert-file (default $SERVICE_REGISTRY_CLIENT_KEY_FILE).")
    var clientKeyFile: String?

    var client: RegistryClient {
        let environment = ProcessInfo.processInfo.environment
        let base = registry ?? environment["SERVICE_REGISTRY_URL"] ?? "http://127.0.0.1:8000"
        func env(_ name: String) -> String? { environment["SERVICE_REGISTRY_" + name].flatMap { $0.isEmpty ? nil : $0 } }
        return RegistryClient(
            base: base.hasSuffix("/") ? String(base.dropLast()) : base,
            token: token ?? environment["SERVICE_REGISTRY_TOKEN"].flatMap { $0.isEmpty ? nil : $0 }
                ?? TokenFile.read(path: TokenFile.path(environment: environment)),
            tls: CurlClient.TLSOptions(
                caFile: caFile ?? env("CA_FILE"), certFile: clientCertFile ?? env("CLIENT_CERT_FILE"),
                keyFile: clientKeyFile ?? env("CLIENT_KEY_FILE")))
    }
}

/// A small blocking-free HTTP client for the REST API.
struct RegistryClient {
    let base: String
    let token: String?
    var tls = CurlClient.TLSOptions()

    /// Sends a request; answers the parsed body, or exits with the API's `detail` on an error status.
    func call(_ method: String, _ path: String, body: JSONValue? = nil) async -> JSONValue? {
        guard let url = URL(string: base + path), url.scheme == "http" || url.scheme == "https", url.host != nil else {
            fail("invalid registry URL \(base)")
        }
        var headers: [String] = []
        if body != nil { headers.append("Content-Type: application/json") }
        if let token { headers.append("Authorization: Bearer \(token)") }
        let response: CurlClient.Response
        do {
            response = try CurlClient.perform(method: method, url: base + path, body: body?.bytes, headers: headers, tls: tls)
        } catch {
            fail("cannot reach the registry at \(base): \(error)")
        }
        let status = response.status
        let data = response.body
        let json = data.isEmpty ? nil : try? JSONValue.parse(data)
        guard (200..<300).contains(status) else { fail("HTTP \(status): \(Self.describe(json?["detail"]))") }
        return json
    }

    /// `{"detail": "..."}` or a FastAPI-style list, as one line.
    static func describe(_ detail: JSONValue?) -> String {
        switch detail {
        case .string(let text)?: return text
        case .array(let issues)?:
            return issues.map { issue in
                let loc: [String] =
                    issue["loc"].flatMap { loc -> [String]? in
                        guard case .array(let parts) = loc else { return nil }
                        return parts.map { part in
                            switch part {
                            case .string(let s): return s
                            case .number(let n): return String(Int(n))
                            default: return "?"
                            }
                        }
                    } ?? []
                let msg: String
                if case .string(let m)? = issue["msg"] { msg = m } else { msg = "invalid" }
                return "\(loc.dropFirst().joined(separator: ".")): \(msg)"
            }.joined(separator: "; ")
        default: return "no detail"
        }
    }

    /// Resolves an id or a name to an id.
    func id(of service: String) async -> Int {
        if let id = Int(service) { return id }
        let q = service.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? service
        guard case .array(let records)? = await call("GET", "/api/services?q=\(q)"),
            let match = records.first(where: { $0["name"] == .string(service) }),
            case .number(let id)? = match["id"]
        else { fail("no service named \(service.debugDescription)") }
        return Int(id)
    }
}

extension JSONValue {
    /// A field as table text.
    func text(_ key: String) -> String {
        switch self[key] {
        case .string(let s)?: return s
        case .number(let n)?: return n == n.rounded() ? String(Int(n)) : String(n)
        case .bool(let b)?: return String(b)
        default: return "-"
        }
    }
}

/// The EXIT STATUS part of each client subcommand's `--help` (README, "Command-line clients").
enum ClientExitStatus {
    /// Lines stay under 80 columns: the help text is wrapped at the terminal's width.
    static func discussion(check: Bool = false) -> String {
        var lines = [
            "EXIT STATUS:",
            "0   success",
            "1   the registry answered an error (its detail is printed on stderr; a",
            "    scan that cannot reach systemd is one), could not be reached, or a",
            "    service name matches no service",
        ]
        if check {
            lines += [
                "3   the probe ran and the service is not healthy (unhealthy, or unknown",
                "    when it has nothing to probe)",
            ]
        }
        lines += ["64  bad command line (unknown option, missing or invalid value)"]
        return lines.joined(separator: "\n")
    }
}

/// Prints rows in aligned columns; `skipHeader` drops the first row after measuring it (later pages of a list).
func printTable(_ rows: [[String]], skipHeader: Bool = false) {
    guard let header = rows.first else { return }
    let widths = header.indices.map { column in rows.map { $0[column].count }.max() ?? 0 }
    for row in rows.dropFirst(skipHeader ? 1 : 0) {
        print(
            row.enumerated().map { $1.padding(toLength: widths[$0], withPad: " ", startingAt: 0) }
                .joined(separator: "  ").trimmingCharacters(in: .whitespaces))
    }
}

func printServices(_ records: [JSONValue], header: Bool = true) {
    let head = [["ID", "NAME", "STATUS", "HEALTH", "PORT", "RESPONSE_MS", "URL"]]
    printTable(
        head
            + records.map {
                [
                    $0.text("id"), $0.text("name"), $0.text("status"), $0.text("health_status"), $0.text("port"),
                    $0.text("last_response_time_ms"), $0.text("url"),
                ]
            }, skipHeader: !header)
}

struct ListCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "list", abstract: "List the services of a running registry.",
        discussion: ClientExitStatus.discussion())
    @OptionGroup var options: RegistryOptions
    @Option(help: "active, inactive or failed.") var status: String?
    @Option(help: "healthy, unhealthy or unknown.") var health: String?
    @Option(help: "api or systemd.") var source: String?
    @Flag(help: "Print the JSON records.") var json = false

    func run() async throws {
        var query: [String] = []
        if let status { query.append("status=\(status)") }
        if let health { query.append("health_status=\(health)") }
        if let source { query.append("source=\(source)") }
        // Pages of `pageSize` (SPEC §10), each printed as it arrives: a 100,000-service registry never sits in
        // memory as one body.
        let client = options.client
        var after: Int?
        var first = true
        if json { print("[", terminator: "") }
        while true {
            let page = query + ["limit=\(Self.pageSize)"] + (after.map { ["after=\($0)"] } ?? [])
            guard case .array(let records)? = await client.call("GET", "/api/services?" + page.joined(separator: "&")) else {
                fail("unexpected answer")
            }
            if json {
                for record in records {
                    print((first ? "" : ",") + String(decoding: record.bytes, as: UTF8.self), terminator: "")
                    first = false
                }
            } else if !records.isEmpty || first {
                printServices(records, header: first)
                first = false
            }
            guard records.count == Self.pageSize, case .number(let last)? = records.last?["id"] else { break }
            after = Int(last)
        }
        if json { print("]") }
    }

    static let pageSize = 500
}

struct RegisterCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "register",
        abstract: "Register a service (or update the one with the same name).",
        discussion: ClientExitStatus.discussion())
    @OptionGroup var options: RegistryOptions
    @Option(help: "Unique name.") var name: String
    @Option(help: "http:// or https:// URL of the service.") var url: String
    @Option(help: "TCP port.") var port: Int?
    @Option(help: "Probed instead of the URL when set.") var healthURL: String?
    @Option(help: "Free text.") var description: String?
    @Option(help: "active, inactive or failed.") var status: String?
    @Option(help: "key=value (repeatable).") var label: [String] = []

    func run() async throws {
        var body: [String: JSONValue] = ["name": .string(name), "url": .string(url)]
        if let port { body["port"] = .number(Double(port)) }
        if let healthURL { body["health_url"] = .string(healthURL) }
        if let description { body["description"] = .string(description) }
        if let status { body["status"] = .string(status) }
        if !label.isEmpty {
            var labels: [String: JSONValue] = [:]
            for pair in label {
                guard let equals = pair.firstIndex(of: "=") else { fail("--label \(pair): expected key=value") }
                labels[String(pair[..<equals])] = .string(String(pair[pair.index(after: equals)...]))
            }
            body["labels"] = .object(labels)
        }
        let record = await options.client.call("POST", "/api/services", body: .object(body))
        print("registered \(record?.text("name") ?? name) with id \(record?.text("id") ?? "?")")
    }
}

struct DeregisterCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "deregister", abstract: "Delete a service by id or name.",
        discussion: ClientExitStatus.discussion())
    @OptionGroup var options: RegistryOptions
    @Argument(help: "Id or name.") var service: String

    func run() async throws {
        let client = options.client
        let id = await client.id(of: service)
        _ = await client.call("DELETE", "/api/services/\(id)")
        print("deregistered \(service)")
    }
}

struct ScanCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "scan", abstract: "Run a systemd discovery scan on a running registry.",
        discussion: ClientExitStatus.discussion())
    @OptionGroup var options: RegistryOptions

    func run() async throws {
        let result = await options.client.call("POST", "/api/scan")
        print("discovered \(result?.text("discovered") ?? "0"), updated \(result?.text("updated") ?? "0")")
        if case .array(let records)? = result?["services"] { printServices(records) }
    }
}

struct CheckCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "check", abstract: "Probe a service now (by id or name).",
        discussion: ClientExitStatus.discussion(check: true))
    @OptionGroup var options: RegistryOptions
    @Argument(help: "Id or name.") var service: String

    func run() async throws {
        let client = options.client
        let id = await client.id(of: service)
        guard let record = await client.call("POST", "/api/services/\(id)/check") else { fail("unexpected answer") }
        let error = record.text("last_error")
        print(
            "\(record.text("name")): \(record.text("health_status")) (HTTP \(record.text("last_status_code")), \(record.text("last_response_time_ms")) ms)"
                + (error == "-" ? "" : ": \(error)"))
        if record["health_status"] != "healthy" { throw ExitCode(3) }
    }
}
