import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Testing

@testable import RegistryHTTP

/// SPEC §11 "Auth follows the handler, not the spelling of the path": every operation of `/openapi.json`,
/// asked with every path spelling a router might accept, with no token, the read token and the API token.
/// A spelling either reaches the operation's handler, and then gets exactly that handler's policy, or it
/// reaches no handler at all (404/405).
@Suite struct RouteAuthorizationTests {
    /// The policy the contract gives each operation, written out here rather than taken from the code.
    static func expectedAccess(method: String, path: String) -> EndpointAccess {
        if ["/health", "/api/v1/health", "/ready"].contains(path) { return .open }
        if method != "GET" && method != "HEAD" { return .write }
        return path == "/scan" ? .write : .read
    }

    /// The path with its parameters filled in: ids that exist for reads, ids that do not for deletes.
    static func concrete(_ template: String, method: String) -> String {
        template.replacingOccurrences(of: "{id}", with: method == "DELETE" ? "999" : "1")
            .replacingOccurrences(of: "{unit}", with: "nothing.service")
            .replacingOccurrences(of: #"\{[^}]+\}"#, with: "x", options: .regularExpression)
    }

    /// Spellings of one path: the canonical one, trailing and doubled slashes, a percent-encoded letter,
    /// upper case, a capitalised last segment.
    static func spellings(_ path: String) -> [String] {
        var result = [path, path + "/", path + "//", "/" + path, "//" + path]
        let segments = path.split(separator: "/").map(String.init)
        if segments.count > 1 { result.append("/" + segments.joined(separator: "//")) }
        if let last = segments.last, let first = last.unicodeScalars.first, first.properties.isAlphabetic {
            let encoded = String(format: "%%%02X", first.value) + String(last.unicodeScalars.dropFirst())
            result.append("/" + (segments.dropLast() + [encoded]).joined(separator: "/"))
            result.append("/" + (segments.dropLast() + [last.capitalized]).joined(separator: "/"))
        }
        result.append(path.uppercased())
        return Array(Set(result)).sorted()
    }

    @Test func everyOperationTimesEverySpellingTimesEveryTokenGetsItsHandlersPolicy() async throws {
        try await withRegistry(configure: AuthTests.bothTokens) { client, _ in
            #expect(try await client.send(.post, "/api/services", #"{"name":"web","url":"http://127.0.0.1:8080"}"#, token: "writer").status == 200)
            let document = try #require(try await client.send(.get, "/openapi.json", token: "reader").json)
            guard case .object(let paths)? = document["paths"] else {
                Issue.record("no paths")
                return
            }
            let notFound = try await client.send(.get, "/no/such/route", token: "writer")
            #expect(notFound.status == 404)
            var checked = 0
            var reachedByOtherSpellings: Set<String> = []
            for (template, operations) in paths.sorted(by: { $0.key < $1.key }) {
                guard case .object(let byMethod) = operations else { continue }
                for (methodName, operation) in byMethod.sorted(by: { $0.key < $1.key }) {
                    let method = methodName.uppercased()
                    // A stream never ends: its policy is checked by its own tests.
                    if String(decoding: operation.bytes, as: UTF8.self).contains("event-stream") { continue }
                    let access = Self.expectedAccess(method: method, path: template)
                    let path = Self.concrete(template, method: method)
                    let body = method == "GET" || method == "DELETE" ? nil : #"{"no_such_field": 1}"#
                    for spelling in Self.spellings(path) {
                        let m = HTTPRequest.Method(rawValue: method)!
                        let api = try await client.send(m, spelling, body, token: "writer")
                        let read = try await client.send(m, spelling, body, token: "reader")
                        let anonymous = try await client.send(m, spelling, body)
                        let reached = !(api.status == 405 || (api.status == 404 && api.text == notFound.text))
                        let site = "\(method) \(spelling) (operation \(method) \(template))"
                        checked += 1
                        if spelling == path { #expect(reached, "canonical spelling must reach its handler: \(site)") }
                        guard reached else {
                            for reply in [read, anonymous] {
                                #expect(
                                    reply.status == 404 || reply.status == 405,
                                    "a spelling that reaches no handler must be 404/405: \(site) got \(reply.status)")
                            }
                            continue
                        }
                        if spelling != path { reachedByOtherSpellings.insert("\(method) \(spelling)") }
                        #expect(api.status != 401, "API token refused: \(site)")
                        #expect((read.status == 401) == (access == .write), "read token: \(site) got \(read.status)")
                        #expect((anonymous.status == 401) == (access != .open), "no token: \(site) got \(anonymous.status)")
                    }
                }
            }
            #expect(checked > 100)
            // The router does accept other spellings (/scan/, //api/scan...): the walk above covered them.
            #expect(reachedByOtherSpellings.contains("GET /scan/"))
            #expect(reachedByOtherSpellings.contains("POST //api/scan"))
        }
    }

    /// The reproduction from issue 11: `/scan` answered 401 but `/scan/` and `/scan//` ran a scan.
    @Test func scanWithATrailingSlashNeedsTheToken() async throws {
        try await withRegistry(configure: { $0.apiToken = "writer" }) { client, _ in
            for path in ["/scan", "/scan/", "/scan//", "//scan", "/api/scan/", "//api//scan"] {
                let method: HTTPRequest.Method = path.contains("api") ? .post : .get
                let reply = try await client.send(method, path)
                #expect(reply.status == 401, "\(method) \(path)")
            }
        }
    }
}
