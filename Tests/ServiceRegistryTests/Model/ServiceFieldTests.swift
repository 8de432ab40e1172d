import Foundation
import Testing

@testable import RegistryHTTP
@testable import RegistryModel
@testable import RegistryStore

/// `ServiceField.all` is the one description of a record's fields: the JSON writer, input validation, partial
/// update and the OpenAPI schema must agree with it.
@Suite struct ServiceFieldTests {
    static var fullRecord: ServiceRecord {
        var record = ServiceRecord(
            id: 7, name: "full", url: "http://127.0.0.1:1/", port: 1, description: "d", healthURL: "http://127.0.0.1:1/h",
            source: .systemd, unit: "full.service", activeState: "active", subState: "running", ports: [1],
            labels: ["k": "v"], probeIntervalSeconds: 5, probeTimeoutSeconds: 1, followRedirects: true,
            lastProbe: ProbeResult(
                finishedAt: Date(timeIntervalSince1970: 1), healthy: false, statusCode: 500,
                totalSeconds: 0.1, error: "HTTP 500"),
            createdAt: Date(timeIntervalSince1970: 0), updatedAt: Date(timeIntervalSince1970: 0), userOwned: [.url])
        record.ttlSeconds = 30
        record.heartbeat = Heartbeat(at: Date(timeIntervalSince1970: 2), status: .passing)
        record.rise = 2
        record.fall = 2
        record.deregisterAfterSeconds = 600
        return record
    }

    /// The writer writes exactly the table's fields, in the table's order.
    @Test func theJSONWriterWritesTheTablesFieldsInOrder() throws {
        let text = String(decoding: Self.fullRecord.jsonBytes, as: UTF8.self)
        var positions: [Int] = []
        for field in ServiceField.all {
            let key = "\"\(field.name)\":"
            let range = try #require(text.range(of: "{" + key) ?? text.range(of: "," + key), "\(field.name) not written")
            positions.append(text.distance(from: text.startIndex, to: range.lowerBound))
        }
        #expect(positions == positions.sorted(), "written in another order than ServiceField.all")
        guard case .object(let members) = try JSONValue.parse(Self.fullRecord.jsonBytes) else {
            Issue.record("not an object")
            return
        }
        #expect(Set(members.keys) == Set(ServiceField.all.map(\.name)))
        #expect(ServiceInput.allFields == Set(ServiceField.all.map(\.name)))
        for field in ServiceField.all where !field.nullable {
            #expect(members[field.name] != .null, "\(field.name) is not nullable")
        }
    }

    static func schema(_ name: String) throws -> [String: JSONValue] {
        guard case .object(let schema)? = OpenAPIDocument.schemas[name], case .object(let properties)? = schema["properties"] else {
            throw SchemaMissing(name: name)
        }
        return properties
    }
    struct SchemaMissing: Error { let name: String }

    static func types(_ property: JSONValue) -> Set<String> {
        switch property["type"] {
        case .string(let type)?: [type]
        case .array(let types)?: Set(types.compactMap { if case .string(let s) = $0 { s } else { nil } })
        default: []
        }
    }

    /// The OpenAPI schemas have exactly the table's fields, with its types, nullability, enums and limits.
    @Test func theOpenAPISchemaIsTheTables() throws {
        let service = try Self.schema("Service")
        #expect(Set(service.keys) == Set(ServiceField.all.map(\.name)))
        let writable = Set(ServiceField.all.filter(\.writable).map(\.name))
        #expect(Set(try Self.schema("ServiceCreate").keys) == writable)
        #expect(Set(try Self.schema("ServiceUpdate").keys) == writable)
        for field in ServiceField.all {
            let property = try #require(service[field.name])
            let expected: String =
                switch field.kind {
                case .string, .timestamp, .choice: "string"
                case .integer: "integer"
                case .number: "number"
                case .boolean: "boolean"
                case .array: "array"
                case .stringMap: "object"
                }
            #expect(Self.types(property).subtracting(["null"]) == [expected], "\(field.name)")
            #expect(Self.types(property).contains("null") == field.nullable, "\(field.name) nullable")
            if case .choice(let values) = field.kind {
                #expect(property["enum"] == .array(values.map { .string($0) }), "\(field.name)")
            }
        }
        for field in ServiceField.all where field.writable {
            let property = try #require(try Self.schema("ServiceCreate")[field.name])
            if let maxLength = field.maxLength {
                let key = field.kind == .stringMap ? "maxProperties" : "maxLength"
                #expect(property[key] == .number(Double(maxLength)), "\(field.name).\(key)")
            } else {
                #expect(property["maxLength"] == nil && property["maxProperties"] == nil, "\(field.name)")
            }
            if let bounds = field.bounds {
                #expect(property["minimum"] == .number(bounds.lowerBound) && property["maximum"] == .number(bounds.upperBound), "\(field.name)")
            } else {
                #expect(property["minimum"] == nil && property["maximum"] == nil, "\(field.name)")
            }
        }
        #expect(
            try Self.schema("ServiceCreate")["labels"]?["additionalProperties"]?["maxLength"] == .number(Double(ServiceField.labelValueMaxLength)))
    }

    /// Validation accepts a field's bounds and its longest value, and refuses just beyond them.
    @Test func validationAcceptsExactlyTheTablesBounds() throws {
        func issues(_ members: [String: JSONValue]) -> [String] {
            var body: [String: JSONValue] = ["name": "n", "url": "http://127.0.0.1:1/"]
            body.merge(members) { $1 }
            do {
                _ = try ServiceInput.parse(.object(body), mode: .create)
                return []
            } catch { return error.issues.map(\.msg) }
        }
        for field in ServiceField.all where field.writable {
            if let bounds = field.bounds {
                let step = field.kind == .integer ? 1.0 : bounds.lowerBound / 10
                #expect(issues([field.name: .number(bounds.lowerBound)]) == [], "\(field.name) at its minimum")
                #expect(issues([field.name: .number(bounds.upperBound)]) == [], "\(field.name) at its maximum")
                #expect(issues([field.name: .number(bounds.lowerBound - step)]).count == 1, "\(field.name) below")
                #expect(issues([field.name: .number(bounds.upperBound + step)]).count == 1, "\(field.name) above")
            }
            guard let maxLength = field.maxLength else { continue }
            func value(_ length: Int) -> JSONValue {
                switch field.kind {
                case .stringMap: .object(Dictionary(uniqueKeysWithValues: (0..<length).map { ("k\($0)", JSONValue.string("v")) }))
                default:
                    field.name.hasSuffix("url")
                        ? .string("http://127.0.0.1/" + String(repeating: "a", count: length - 17))
                        : .string(String(repeating: "é", count: length))
                }
            }
            #expect(issues([field.name: value(maxLength)]) == [], "\(field.name) at its longest")
            #expect(issues([field.name: value(maxLength + 1)]).count == 1, "\(field.name) one too long")
        }
        #expect(issues(["labels": ["k": .string(String(repeating: "v", count: ServiceField.labelValueMaxLength))]]) == [])
        #expect(issues(["labels": ["k": .string(String(repeating: "v", count: ServiceField.labelValueMaxLength + 1))]]).count == 1)
    }

    /// The user-owned fields are exactly `UserOwnedField`'s, named alike, and a partial update of a discovered
    /// record makes exactly the fields it sets user-owned.
    @Test func userOwnedFieldsAreTheTables() throws {
        let owned = ServiceField.all.compactMap { field in field.userOwned.map { (field.name, $0) } }
        #expect(Set(owned.map(\.1)) == Set(UserOwnedField.allCases))
        for (name, field) in owned { #expect(field.rawValue == name) }
        let userOwnedAreWritable = ServiceField.all.filter { $0.userOwned != nil }.allSatisfy { $0.writable }
        #expect(userOwnedAreWritable)

        var discovered = Self.fullRecord
        discovered.userOwned = []
        discovered.deregisterAfterSeconds = nil
        for (name, field) in owned {
            let value: JSONValue =
                switch name {
                case "port": 2
                case "labels": ["a": "b"]
                case "description": "changed"
                default: "http://127.0.0.1:2/"
                }
            let patch = try ServiceInput.parse(.object([name: value]), mode: .update)
            #expect(try ServiceStore.applying(patch, to: discovered, now: Date()).record.userOwned == [field], "\(name)")
        }
        // A field that is not user-owned changes nothing in `userOwned`.
        let patch = try ServiceInput.parse(["follow_redirects": false], mode: .update)
        #expect(try ServiceStore.applying(patch, to: discovered, now: Date()).record.userOwned.isEmpty)
    }
}
