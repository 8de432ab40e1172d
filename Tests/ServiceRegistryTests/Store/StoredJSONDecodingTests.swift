import Foundation
import PropertyBased
import Synchronization
import Testing

@testable import RegistryHTTP
@testable import RegistryModel
@testable import RegistryTLS

/// The load-time decoder of stored documents (`StoredJSON`, docs/STORAGE.md) against Foundation's `JSONDecoder`,
/// which wrote-and-read the format before: on random records, and on random edits of them that a hand-edited or
/// older database could hold, the two give the same value, or both refuse the document.
@Suite struct StoredJSONDecodingTests {
    typealias AnyGenerator<Value> = PropertyBasedTests.AnyGenerator<Value>

    /// Draws from a generator inside a hand-written one.
    static func draw<T>(_ generator: AnyGenerator<T>, _ rng: inout any SeededRandomNumberGenerator) -> T {
        generator.run(using: &rng)
    }

    static func maybe<T>(_ rng: inout any SeededRandomNumberGenerator, _ value: (inout any SeededRandomNumberGenerator) -> T) -> T? {
        Bool.random(using: &rng) ? value(&rng) : nil
    }

    /// Integers as stored: ids and ports are small, but nothing stops a large one (above 2^53 `Double` is not exact).
    static func int(_ rng: inout any SeededRandomNumberGenerator) -> Int {
        switch Int.random(in: 0..<32, using: &rng) {
        case 0: Int.random(in: Int.min...Int.max, using: &rng)
        case 1: [0, -1, 1 << 53, (1 << 53) - 1, (1 << 53) + 1, -(1 << 53), Int.max, Int.min].randomElement(using: &rng)!
        case 2...7: Int.random(in: -(1 << 40)...(1 << 40), using: &rng)
        default: Int.random(in: -2...70_000, using: &rng)
        }
    }

    static func double(_ rng: inout any SeededRandomNumberGenerator) -> Double { draw(PropertyBasedTests.finiteDoubles, &rng) }
    static func text(_ rng: inout any SeededRandomNumberGenerator) -> String { draw(PropertyBasedTests.text, &rng) }
    static func date(_ rng: inout any SeededRandomNumberGenerator) -> Date {
        Bool.random(using: &rng)
            ? Date(timeIntervalSinceReferenceDate: Double.random(in: 0...2e9, using: &rng))
            : Date(timeIntervalSinceReferenceDate: double(&rng))
    }

    static func probe(_ rng: inout any SeededRandomNumberGenerator) -> ProbeResult {
        var probe = ProbeResult(
            finishedAt: date(&rng), healthy: Bool.random(using: &rng), statusCode: maybe(&rng, int),
            totalSeconds: double(&rng),
            phases: ProbePhases(
                resolve: double(&rng), connect: double(&rng), tls: double(&rng),
                processing: double(&rng), transfer: double(&rng)),
            certificateExpiry: maybe(&rng, date), error: maybe(&rng, text))
        probe.settled = maybe(&rng) { Bool.random(using: &$0) }
        probe.streak = maybe(&rng, int)
        return probe
    }

    static let records: AnyGenerator<ServiceRecord> = Generator<ServiceRecord, Shrink.None<ServiceRecord>>(run: { rng in
        var record = ServiceRecord(
            id: int(&rng), name: text(&rng), url: maybe(&rng, text), status: ServiceStatus.allCases.randomElement(using: &rng)!,
            port: maybe(&rng, int), description: maybe(&rng, text), healthURL: maybe(&rng, text),
            source: ServiceSource.allCases.randomElement(using: &rng)!, unit: maybe(&rng, text), activeState: maybe(&rng, text),
            subState: maybe(&rng, text), ports: (0..<Int.random(in: 0...3, using: &rng)).map { _ in int(&rng) },
            labels: Dictionary((0..<Int.random(in: 0...3, using: &rng)).map { _ in (text(&rng), text(&rng)) }) { first, _ in first },
            probeIntervalSeconds: maybe(&rng, double), probeTimeoutSeconds: maybe(&rng, double),
            followRedirects: Bool.random(using: &rng), lastProbe: maybe(&rng, probe), createdAt: date(&rng), updatedAt: date(&rng),
            userOwned: Set(UserOwnedField.allCases.filter { _ in Bool.random(using: &rng) }))
        record.ttlSeconds = maybe(&rng, int)
        record.heartbeat = maybe(&rng) { rng in
            Heartbeat(
                at: date(&rng), status: CheckStatus.allCases.randomElement(using: &rng)!, output: maybe(&rng, text),
                expired: maybe(&rng) { Bool.random(using: &$0) })
        }
        record.rise = maybe(&rng, int)
        record.fall = maybe(&rng, int)
        record.deregisterAfterSeconds = maybe(&rng, int)
        record.tcpCheckPort = maybe(&rng, int)
        return record
    }).eraseToAny()

    /// Decodes `bytes` both ways: the same value, or both refuse. When the fast path answers at all, `JSONDecoder`
    /// agrees with it. Answers whether the fast path answered.
    @discardableResult
    static func compare<T: StoredJSONDecodable & Equatable>(_ type: T.Type, _ bytes: [UInt8], _ comment: @autoclosure () -> String) -> Bool {
        let expected = try? JSONDecoder().decode(T.self, from: Data(bytes))
        let fast = StoredJSON.fast(T.self, bytes)
        let decoded = try? StoredJSON.decode(T.self, from: bytes, fallback: JSONDecoder())
        #expect(decoded == expected, "\(comment()): \(String(decoding: bytes, as: UTF8.self))")
        if let fast { #expect(fast == expected, "fast path: \(comment()): \(String(decoding: bytes, as: UTF8.self))") }
        // The decoder over a parsed tree (nested values use it; it is the default for types that are not walked).
        if case .object(let members)? = try? JSONValue.parse(bytes), let tree = T(stored: StoredJSONObject(members)) {
            #expect(tree == expected, "tree: \(comment()): \(String(decoding: bytes, as: UTF8.self))")
        }
        return fast != nil
    }

    /// Records as the store writes them (`JSONEncoder`) read back identically; so do their probe results and
    /// heartbeats alone.
    @Test func storedRecordsDecodeAsJSONDecoderDecodesThem() async throws {
        // How often the project's decoder answered without `JSONDecoder` (it must, for ordinary records).
        let answers = Mutex((fast: 0, all: 0))
        await propertyCheck(count: 3000, input: Self.records) { record in
            let bytes = Array(try! JSONEncoder().encode(record))
            let fast = Self.compare(ServiceRecord.self, bytes, "record")
            answers.withLock {
                $0.all += 1
                if fast { $0.fast += 1 }
            }
            #expect(StoredJSON.fast(ServiceRecord.self, bytes) == record || Self.hasInexactInteger(record))
            if let probe = record.lastProbe { Self.compare(ProbeResult.self, Array(try! JSONEncoder().encode(probe)), "probe") }
            if let heartbeat = record.heartbeat { Self.compare(Heartbeat.self, Array(try! JSONEncoder().encode(heartbeat)), "heartbeat") }
        }
        let (fast, all) = answers.withLock { $0 }
        #expect(fast * 2 > all, "the fast path answered \(fast) of \(all)")
    }

    /// Whether an integer of the record is beyond what a `Double` holds exactly (the fast path leaves those to
    /// `JSONDecoder`).
    static func hasInexactInteger(_ record: ServiceRecord) -> Bool {
        let ints =
            [record.id] + record.ports
            + [
                record.port, record.ttlSeconds, record.rise, record.fall, record.deregisterAfterSeconds,
                record.tcpCheckPort, record.lastProbe?.statusCode, record.lastProbe?.streak,
            ].compactMap { $0 }
        return ints.contains { $0.magnitude >= 1 << 53 }
    }

    /// Edits a stored record could carry (older versions, hand edits): a key removed, set to null, to another type,
    /// to another spelling of its number, an unknown key added. Whatever the edit, both decoders agree.
    @Test func editedRecordsDecodeAsJSONDecoderDecodesThem() async throws {
        let edits = Generator<(ServiceRecord, [Int]), Shrink.None<(ServiceRecord, [Int])>>(run: { rng in
            (Self.records.run(using: &rng), (0..<Int.random(in: 1...3, using: &rng)).map { _ in Int.random(in: 0..<1_000_000, using: &rng) })
        })
        await propertyCheck(count: 3000, input: edits) { (record, choices) in
            guard case .object(var members)? = try? JSONValue.parse(Array(try! JSONEncoder().encode(record))) else {
                Issue.record("not an object")
                return
            }
            var spelled: [String: String] = [:]
            for choice in choices {
                let keys = members.keys.sorted()
                let key = keys[choice % keys.count]
                switch (choice / keys.count) % 7 {
                case 0: members[key] = nil
                case 1: members[key] = .null
                case 2: members[key] = .string("1")
                case 3: members[key] = .number(1.5)
                case 4: members[key] = .bool(true)
                case 5: members["unknown\(choice)"] = .array([.null, .number(2)])
                default:
                    // The same number spelled otherwise: a fraction, an exponent (JSONWriter writes neither).
                    if case .number(let n)? = members[key], n.magnitude < 1e15, n == n.rounded() {
                        spelled[key] = ["\(Int(n)).0", "\(Int(n))e0", "\(Int(n))E+0", "\(Int(n)).5"][choice % 4]
                    }
                }
            }
            var text = String(decoding: JSONValue.object(members).bytes, as: UTF8.self)
            for (key, number) in spelled {
                guard case .number(let n)? = members[key] else { continue }
                let name = String(decoding: JSONValue.string(key).bytes, as: UTF8.self)
                text = text.replacingOccurrences(
                    of: "\(name):\(String(decoding: JSONValue.number(n).bytes, as: UTF8.self))",
                    with: "\(name):\(number)")
            }
            Self.compare(ServiceRecord.self, Array(text.utf8), "edited \(choices)")
        }
    }

    /// Documents that are not records at all, or not JSON: refused by both.
    @Test func malformedDocumentsAreRefusedLikeJSONDecoderRefusesThem() {
        for text in ["", "null", "[]", "{", #"{"id":1}"#, #"{"id":1,"id":2}"#, "\u{FF}", #"{"id":1e400}"#] {
            Self.compare(ServiceRecord.self, Array(text.utf8), "malformed")
        }
    }
}
