import Foundation

/// Reads the stored JSON documents (docs/STORAGE.md) with the project's own parser instead of Foundation's
/// `JSONDecoder`, which was most of what a start cost (100,000 services: two documents each).
///
/// It decodes exactly what the synthesized `Decodable` conformances decode, key by key from the explicit storage
/// `CodingKeys`: an absent or `null` optional is nil, a missing required key or a value of the wrong type is not
/// accepted, unknown keys are ignored. Whenever it is not certain (anything it does not accept, an integer too large
/// to be exact in a `Double`, a duplicate key, ...) it answers nil and the caller decodes that document with
/// `JSONDecoder` as before, so the result (or the error) is `JSONDecoder`'s. The property test
/// `storedRecordsDecodeAsJSONDecoderDecodesThem` compares the two on random records.
package protocol StoredJSONDecodable: Decodable {
    /// The value, or nil when `JSONDecoder` must decide.
    init?(stored object: StoredJSONObject)
}

package enum StoredJSON {
    /// `bytes` decoded as `T`: by `T(stored:)` when it is certain, else by `decoder`.
    package static func decode<T: StoredJSONDecodable>(_ type: T.Type, from bytes: [UInt8], fallback decoder: JSONDecoder) throws -> T {
        if let value = fast(T.self, bytes) { return value }
        return try decoder.decode(T.self, from: Data(bytes))
    }

    /// The fast path alone (nil: not certain).
    package static func fast<T: StoredJSONDecodable>(_ type: T.Type, _ bytes: [UInt8]) -> T? {
        guard case .object(let members)? = try? JSONValue.parse(bytes) else { return nil }
        return T(stored: StoredJSONObject(members))
    }
}

/// One JSON object of a stored document, read the way `KeyedDecodingContainer` reads it.
///
/// Accessors answer `nil` when the value is not certainly what `JSONDecoder` would produce; `optional` answers
/// `.some(nil)` for an absent or `null` value (`decodeIfPresent`).
package struct StoredJSONObject {
    let members: [String: JSONValue]

    init(_ members: [String: JSONValue]) { self.members = members }

    func required<T>(_ key: some CodingKey, _ read: (JSONValue) -> T?) -> T? {
        members[key.stringValue].flatMap(read)
    }

    func optional<T>(_ key: some CodingKey, _ read: (JSONValue) -> T?) -> T?? {
        guard let value = members[key.stringValue], value != .null else { return .some(nil) }
        return read(value).map { .some($0) }
    }
}

/// Readers of single values, as `JSONDecoder` (default strategies) reads them.
enum StoredJSONValue {
    /// Integers: a whole number, exact. `JSONDecoder` reads an integer's digits exactly, and a number with a fraction
    /// or exponent through `Double` (accepting it when whole); below 2^53 both agree with the parsed `Double`.
    static func int(_ value: JSONValue) -> Int? {
        guard case .number(let number) = value, number.magnitude < 9_007_199_254_740_992, number.rounded(.towardZero) == number else {
            return nil
        }
        return Int(number)
    }

    static func double(_ value: JSONValue) -> Double? {
        if case .number(let number) = value { return number }
        return nil
    }

    static func bool(_ value: JSONValue) -> Bool? {
        if case .bool(let flag) = value { return flag }
        return nil
    }

    static func string(_ value: JSONValue) -> String? {
        if case .string(let text) = value { return text }
        return nil
    }

    /// `Date`'s default strategy: seconds since 2001-01-01 as a number.
    static func date(_ value: JSONValue) -> Date? {
        double(value).map { Date(timeIntervalSinceReferenceDate: $0) }
    }

    static func raw<T: RawRepresentable<String>>(_ value: JSONValue) -> T? {
        string(value).flatMap(T.init(rawValue:))
    }

    static func array<T>(_ value: JSONValue, _ element: (JSONValue) -> T?) -> [T]? {
        guard case .array(let values) = value else { return nil }
        var out: [T] = []
        out.reserveCapacity(values.count)
        for value in values {
            guard let decoded = element(value) else { return nil }
            out.append(decoded)
        }
        return out
    }

    static func stringDictionary(_ value: JSONValue) -> [String: String]? {
        guard case .object(let members) = value else { return nil }
        var out: [String: String] = Dictionary(minimumCapacity: members.count)
        for (key, value) in members {
            guard case .string(let text) = value else { return nil }
            out[key] = text
        }
        return out
    }

    static func object<T: StoredJSONDecodable>(_ value: JSONValue) -> T? {
        guard case .object(let members) = value else { return nil }
        return T(stored: StoredJSONObject(members))
    }
}

extension ServiceRecord: StoredJSONDecodable {
    package init?(stored o: StoredJSONObject) {
        typealias K = CodingKeys
        typealias V = StoredJSONValue
        guard let id = o.required(K.id, V.int), let name = o.required(K.name, V.string),
              let url = o.optional(K.url, V.string), let status: ServiceStatus = o.required(K.status, V.raw),
              let port = o.optional(K.port, V.int), let description = o.optional(K.description, V.string),
              let healthURL = o.optional(K.healthURL, V.string), let source: ServiceSource = o.required(K.source, V.raw),
              let unit = o.optional(K.unit, V.string), let activeState = o.optional(K.activeState, V.string),
              let subState = o.optional(K.subState, V.string), let ports = o.required(K.ports, { V.array($0, V.int) }),
              let labels = o.required(K.labels, V.stringDictionary),
              let probeIntervalSeconds = o.optional(K.probeIntervalSeconds, V.double),
              let probeTimeoutSeconds = o.optional(K.probeTimeoutSeconds, V.double),
              let followRedirects = o.required(K.followRedirects, V.bool),
              let lastProbe: ProbeResult? = o.optional(K.lastProbe, V.object),
              let createdAt = o.required(K.createdAt, V.date), let updatedAt = o.required(K.updatedAt, V.date),
              let userOwned = o.required(K.userOwned, { V.array($0, V.raw as (JSONValue) -> UserOwnedField?) }),
              let ttlSeconds = o.optional(K.ttlSeconds, V.int), let heartbeat: Heartbeat? = o.optional(K.heartbeat, V.object),
              let rise = o.optional(K.rise, V.int), let fall = o.optional(K.fall, V.int),
              let deregisterAfterSeconds = o.optional(K.deregisterAfterSeconds, V.int),
              let tcpCheckPort = o.optional(K.tcpCheckPort, V.int) else { return nil }
        self.init(id: id, name: name, url: url, status: status, port: port, description: description, healthURL: healthURL,
                  source: source, unit: unit, activeState: activeState, subState: subState, ports: ports, labels: labels,
                  probeIntervalSeconds: probeIntervalSeconds, probeTimeoutSeconds: probeTimeoutSeconds,
                  followRedirects: followRedirects, lastProbe: lastProbe, createdAt: createdAt, updatedAt: updatedAt,
                  userOwned: Set(userOwned))
        self.ttlSeconds = ttlSeconds
        self.heartbeat = heartbeat
        self.rise = rise
        self.fall = fall
        self.deregisterAfterSeconds = deregisterAfterSeconds
        self.tcpCheckPort = tcpCheckPort
    }
}

extension ProbeResult: StoredJSONDecodable {
    package init?(stored o: StoredJSONObject) {
        typealias K = CodingKeys
        typealias V = StoredJSONValue
        guard let finishedAt = o.required(K.finishedAt, V.date), let healthy = o.required(K.healthy, V.bool),
              let statusCode = o.optional(K.statusCode, V.int), let totalSeconds = o.required(K.totalSeconds, V.double),
              let phases: ProbePhases = o.required(K.phases, V.object),
              let certificateExpiry = o.optional(K.certificateExpiry, V.date), let error = o.optional(K.error, V.string),
              let settled = o.optional(K.settled, V.bool), let streak = o.optional(K.streak, V.int) else { return nil }
        self.init(finishedAt: finishedAt, healthy: healthy, statusCode: statusCode, totalSeconds: totalSeconds, phases: phases,
                  certificateExpiry: certificateExpiry, error: error)
        self.settled = settled
        self.streak = streak
    }
}

extension ProbePhases: StoredJSONDecodable {
    package init?(stored o: StoredJSONObject) {
        typealias K = CodingKeys
        typealias V = StoredJSONValue
        guard let resolve = o.required(K.resolve, V.double), let connect = o.required(K.connect, V.double),
              let tls = o.required(K.tls, V.double), let processing = o.required(K.processing, V.double),
              let transfer = o.required(K.transfer, V.double) else { return nil }
        self.init(resolve: resolve, connect: connect, tls: tls, processing: processing, transfer: transfer)
    }
}

extension Heartbeat: StoredJSONDecodable {
    package init?(stored o: StoredJSONObject) {
        typealias K = CodingKeys
        typealias V = StoredJSONValue
        guard let at = o.required(K.at, V.date), let status: CheckStatus = o.required(K.status, V.raw),
              let output = o.optional(K.output, V.string), let expired = o.optional(K.expired, V.bool) else { return nil }
        self.init(at: at, status: status, output: output, expired: expired)
    }
}

extension HistoryEvent: StoredJSONDecodable {
    package init?(stored o: StoredJSONObject) {
        typealias K = CodingKeys
        typealias V = StoredJSONValue
        guard let at = o.required(K.at, V.date), let kind: Kind = o.required(K.kind, V.raw),
              let from = o.required(K.from, V.string), let to = o.required(K.to, V.string),
              let detail = o.optional(K.detail, V.string) else { return nil }
        self.init(at: at, kind: kind, from: from, to: to, detail: detail)
    }
}
