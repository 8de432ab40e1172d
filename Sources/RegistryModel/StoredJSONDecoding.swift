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
    /// The value read straight from the document's bytes, or nil when `JSONDecoder` must decide. By default the
    /// document is parsed into a `JSONValue` first (`init(stored:)`); the two read at start walk it instead.
    static func streamed(_ bytes: [UInt8]) -> Self?
}

extension StoredJSONDecodable {
    package static func streamed(_ bytes: [UInt8]) -> Self? {
        guard case .object(let members)? = try? JSONValue.parse(bytes) else { return nil }
        return Self(stored: StoredJSONObject(members))
    }
}

package enum StoredJSON {
    /// `bytes` decoded as `T`: by `T(stored:)` when it is certain, else by `decoder`.
    package static func decode<T: StoredJSONDecodable>(_ type: T.Type, from bytes: [UInt8], fallback decoder: JSONDecoder) throws -> T {
        if let value = fast(T.self, bytes) { return value }
        return try decoder.decode(T.self, from: Data(bytes))
    }

    /// The fast path alone (nil: not certain).
    package static func fast<T: StoredJSONDecodable>(_ type: T.Type, _ bytes: [UInt8]) -> T? {
        T.streamed(bytes)
    }

    /// Walks the document's top object without building it: `member` gets each key with the parser at its value,
    /// and reads the value (false: not certain). Unknown keys are for `member` to skip with `skip`. False when the
    /// document is not one JSON object or `member` gave up.
    static func walk(_ bytes: [UInt8], _ member: (inout JSONParser, String) -> Bool) -> Bool {
        var parser = JSONParser(bytes)
        guard parser.take(UInt8(ascii: "{")) else { return false }
        if !parser.take(UInt8(ascii: "}")) {
            repeat {
                guard parser.peek() == UInt8(ascii: "\""), case .string(let key)? = try? parser.value(),
                    parser.take(UInt8(ascii: ":")), member(&parser, key)
                else { return false }
            } while parser.take(UInt8(ascii: ","))
            guard parser.take(UInt8(ascii: "}")) else { return false }
        }
        return parser.peek() == nil
    }

    /// Steps over the value of a key the type does not have (still parsed in full: it must be valid JSON). A key
    /// seen twice is left to `JSONDecoder`.
    package static func skip(_ parser: inout JSONParser, _ key: String, _ unknown: inout [String]) -> Bool {
        guard !unknown.contains(key), (try? parser.value()) != nil else { return false }
        unknown.append(key)
        return true
    }

    /// A required value: nil when absent... of the wrong type, or not certain.
    package static func read<T>(_ parser: inout JSONParser, _ convert: (JSONValue) -> T?) -> T? {
        (try? parser.value()).flatMap(convert)
    }

    /// An optional value: `.some(nil)` for null, nil when of the wrong type or not certain.
    static func readOptional<T>(_ parser: inout JSONParser, _ convert: (JSONValue) -> T?) -> T?? {
        guard let value = try? parser.value() else { return nil }
        if value == .null { return .some(nil) }
        return convert(value).map { .some($0) }
    }
}

/// One JSON object of a stored document, read the way `KeyedDecodingContainer` reads it.
///
/// Accessors answer `nil` when the value is not certainly what `JSONDecoder` would produce; `optional` answers
/// `.some(nil)` for an absent or `null` value (`decodeIfPresent`).
package struct StoredJSONObject {
    package let members: [String: JSONValue]

    init(_ members: [String: JSONValue]) { self.members = members }

    package func required<T>(_ key: some CodingKey, _ read: (JSONValue) -> T?) -> T? {
        members[key.stringValue].flatMap(read)
    }

    package func optional<T>(_ key: some CodingKey, _ read: (JSONValue) -> T?) -> T?? {
        guard let value = members[key.stringValue], value != .null else { return .some(nil) }
        return read(value).map { .some($0) }
    }
}

/// Readers of single values, as `JSONDecoder` (default strategies) reads them.
enum StoredJSONValue {
    /// Integers: a whole number, exact. `JSONDecoder` reads an integer's digits exactly, and a number with a fraction
    /// or exponent through `Double` (accepting it when whole); below 2^53 both agree with the parsed `Double`.
    package static func int(_ value: JSONValue) -> Int? {
        guard case .number(let number) = value, number.magnitude < 9_007_199_254_740_992, number.rounded(.towardZero) == number else {
            return nil
        }
        return Int(number)
    }

    package static func double(_ value: JSONValue) -> Double? {
        if case .number(let number) = value { return number }
        return nil
    }

    package static func bool(_ value: JSONValue) -> Bool? {
        if case .bool(let flag) = value { return flag }
        return nil
    }

    package static func string(_ value: JSONValue) -> String? {
        if case .string(let text) = value { return text }
        return nil
    }

    /// `Date`'s default strategy: seconds since 2001-01-01 as a number.
    package static func date(_ value: JSONValue) -> Date? {
        double(value).map { Date(timeIntervalSinceReferenceDate: $0) }
    }

    package static func raw<T: RawRepresentable<String>>(_ value: JSONValue) -> T? {
        string(value).flatMap(T.init(rawValue:))
    }

    package static func array<T>(_ value: JSONValue, _ element: (JSONValue) -> T?) -> [T]? {
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

    package static func object<T: StoredJSONDecodable>(_ value: JSONValue) -> T? {
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
            let tcpCheckPort = o.optional(K.tcpCheckPort, V.int)
        else { return nil }
        self.init(
            id: id, name: name, url: url, status: status, port: port, description: description, healthURL: healthURL,
            source: source, unit: unit, activeState: activeState, subState: subState, ports: ports, labels: labels,
            probeIntervalSeconds: probeIntervalSeconds, probeTimeoutSeconds: probeTimeoutSeconds,
            followRedirects: followRedirects, lastProbe: lastProbe, createdAt: createdAt, updatedAt: updatedAt,
            userOwned: Set(userOwned), ttlSeconds: ttlSeconds, heartbeat: heartbeat, rise: rise, fall: fall,
            deregisterAfterSeconds: deregisterAfterSeconds, tcpCheckPort: tcpCheckPort)
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
            let settled = o.optional(K.settled, V.bool), let streak = o.optional(K.streak, V.int)
        else { return nil }
        self.init(
            finishedAt: finishedAt, healthy: healthy, statusCode: statusCode, totalSeconds: totalSeconds, phases: phases,
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
            let transfer = o.required(K.transfer, V.double)
        else { return nil }
        self.init(resolve: resolve, connect: connect, tls: tls, processing: processing, transfer: transfer)
    }
}

extension Heartbeat: StoredJSONDecodable {
    package init?(stored o: StoredJSONObject) {
        typealias K = CodingKeys
        typealias V = StoredJSONValue
        guard let at = o.required(K.at, V.date), let status: CheckStatus = o.required(K.status, V.raw),
            let output = o.optional(K.output, V.string), let expired = o.optional(K.expired, V.bool)
        else { return nil }
        self.init(at: at, status: status, output: output, expired: expired)
    }
}

extension HistoryEvent: StoredJSONDecodable {
    package init?(stored o: StoredJSONObject) {
        typealias K = CodingKeys
        typealias V = StoredJSONValue
        guard let at = o.required(K.at, V.date), let kind: Kind = o.required(K.kind, V.raw),
            let from = o.required(K.from, V.string), let to = o.required(K.to, V.string),
            let detail = o.optional(K.detail, V.string)
        else { return nil }
        self.init(at: at, kind: kind, from: from, to: to, detail: detail)
    }
}

// MARK: Walked, for the two read at start (100,000 each at 100,000 services)

extension StoredJSON {
    /// Reads a required key's value into `slot`; false when seen before (a duplicate is `JSONDecoder`'s to decide),
    /// of the wrong type, or not certain.
    package static func one<T>(_ slot: inout T?, _ parser: inout JSONParser, _ convert: (JSONValue) -> T?) -> Bool {
        if case .some = slot { return false }
        guard let value = read(&parser, convert) else { return false }
        slot = value
        return true
    }

    /// Reads an optional key's value into `slot` (`.some(nil)` for null); false as `one`.
    static func maybe<T>(_ slot: inout T??, _ parser: inout JSONParser, _ convert: (JSONValue) -> T?) -> Bool {
        if case .some = slot { return false }
        guard let value = readOptional(&parser, convert) else { return false }
        slot = value
        return true
    }
}

extension ServiceRecord {
    package static func streamed(_ bytes: [UInt8]) -> ServiceRecord? {
        typealias S = StoredJSON
        typealias V = StoredJSONValue
        // nil: the key was not seen; an optional's `.some(nil)`: it was null.
        var id: Int?
        var name: String?
        var url: String??
        var status: ServiceStatus?
        var port: Int??
        var description: String??
        var healthURL: String??
        var source: ServiceSource?
        var unit: String??
        var activeState: String??
        var subState: String??
        var ports: [Int]?
        var labels: [String: String]?
        var probeIntervalSeconds: Double??
        var probeTimeoutSeconds: Double??
        var followRedirects: Bool?
        var lastProbe: ProbeResult??
        var createdAt: Date?
        var updatedAt: Date?
        var userOwned: [UserOwnedField]?
        var ttlSeconds: Int??
        var heartbeat: Heartbeat??
        var rise: Int??
        var fall: Int??
        var deregisterAfterSeconds: Int??
        var tcpCheckPort: Int??
        var unknown: [String] = []
        let walked = S.walk(bytes) { p, key in
            guard let known = CodingKeys(stringValue: key) else { return S.skip(&p, key, &unknown) }
            switch known {
            case .id: return S.one(&id, &p, V.int)
            case .name: return S.one(&name, &p, V.string)
            case .url: return S.maybe(&url, &p, V.string)
            case .status: return S.one(&status, &p, V.raw)
            case .port: return S.maybe(&port, &p, V.int)
            case .description: return S.maybe(&description, &p, V.string)
            case .healthURL: return S.maybe(&healthURL, &p, V.string)
            case .source: return S.one(&source, &p, V.raw)
            case .unit: return S.maybe(&unit, &p, V.string)
            case .activeState: return S.maybe(&activeState, &p, V.string)
            case .subState: return S.maybe(&subState, &p, V.string)
            case .ports: return S.one(&ports, &p) { V.array($0, V.int) }
            case .labels: return S.one(&labels, &p, V.stringDictionary)
            case .probeIntervalSeconds: return S.maybe(&probeIntervalSeconds, &p, V.double)
            case .probeTimeoutSeconds: return S.maybe(&probeTimeoutSeconds, &p, V.double)
            case .followRedirects: return S.one(&followRedirects, &p, V.bool)
            case .lastProbe: return S.maybe(&lastProbe, &p, V.object)
            case .createdAt: return S.one(&createdAt, &p, V.date)
            case .updatedAt: return S.one(&updatedAt, &p, V.date)
            case .userOwned: return S.one(&userOwned, &p) { V.array($0, V.raw as (JSONValue) -> UserOwnedField?) }
            case .ttlSeconds: return S.maybe(&ttlSeconds, &p, V.int)
            case .heartbeat: return S.maybe(&heartbeat, &p, V.object)
            case .rise: return S.maybe(&rise, &p, V.int)
            case .fall: return S.maybe(&fall, &p, V.int)
            case .deregisterAfterSeconds: return S.maybe(&deregisterAfterSeconds, &p, V.int)
            case .tcpCheckPort: return S.maybe(&tcpCheckPort, &p, V.int)
            }
        }
        guard walked, let id, let name, let status, let source, let ports, let labels, let followRedirects, let createdAt,
            let updatedAt, let userOwned
        else { return nil }
        return ServiceRecord(
            id: id, name: name, url: url ?? nil, status: status, port: port ?? nil,
            description: description ?? nil, healthURL: healthURL ?? nil, source: source, unit: unit ?? nil,
            activeState: activeState ?? nil, subState: subState ?? nil, ports: ports, labels: labels,
            probeIntervalSeconds: probeIntervalSeconds ?? nil, probeTimeoutSeconds: probeTimeoutSeconds ?? nil,
            followRedirects: followRedirects, lastProbe: lastProbe ?? nil, createdAt: createdAt,
            updatedAt: updatedAt, userOwned: Set(userOwned), ttlSeconds: ttlSeconds ?? nil, heartbeat: heartbeat ?? nil,
            rise: rise ?? nil, fall: fall ?? nil, deregisterAfterSeconds: deregisterAfterSeconds ?? nil,
            tcpCheckPort: tcpCheckPort ?? nil)
    }
}

extension ProbeResult {
    package static func streamed(_ bytes: [UInt8]) -> ProbeResult? {
        typealias S = StoredJSON
        typealias V = StoredJSONValue
        var finishedAt: Date?
        var healthy: Bool?
        var statusCode: Int??
        var totalSeconds: Double?
        var phases: ProbePhases?
        var certificateExpiry: Date??
        var error: String??
        var settled: Bool??
        var streak: Int??
        var unknown: [String] = []
        let walked = S.walk(bytes) { p, key in
            guard let known = CodingKeys(stringValue: key) else { return S.skip(&p, key, &unknown) }
            switch known {
            case .finishedAt: return S.one(&finishedAt, &p, V.date)
            case .healthy: return S.one(&healthy, &p, V.bool)
            case .statusCode: return S.maybe(&statusCode, &p, V.int)
            case .totalSeconds: return S.one(&totalSeconds, &p, V.double)
            case .phases: return S.one(&phases, &p, V.object)
            case .certificateExpiry: return S.maybe(&certificateExpiry, &p, V.date)
            case .error: return S.maybe(&error, &p, V.string)
            case .settled: return S.maybe(&settled, &p, V.bool)
            case .streak: return S.maybe(&streak, &p, V.int)
            }
        }
        guard walked, let finishedAt, let healthy, let totalSeconds, let phases else { return nil }
        var probe = ProbeResult(
            finishedAt: finishedAt, healthy: healthy, statusCode: statusCode ?? nil, totalSeconds: totalSeconds,
            phases: phases, certificateExpiry: certificateExpiry ?? nil, error: error ?? nil)
        probe.settled = settled ?? nil
        probe.streak = streak ?? nil
        return probe
    }
}
