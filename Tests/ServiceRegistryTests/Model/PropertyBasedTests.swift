import Foundation
import PropertyBased
import Testing

@testable import RegistryHTTP
@testable import RegistryModel
@testable import RegistryTLS

/// Property-based tests (swift-property-based): the JSON parser against the writer and against random bytes, and
/// the validation bounds against random doubles. A failure prints the input and a seed to reproduce it with.
extension Generator where ResultValue == Int {
    /// Runs the generator chosen by this one's value (no shrinking across the choice).
    func flatMapErased<Value>(_ generators: [Generator<Value, AnySequence<Any>>]) -> Generator<Value, AnySequence<Any>> {
        let chooser = self
        return Generator<Value, Shrink.None<Value>>(run: { rng in
            let index = chooser.run(using: &rng)
            return generators[index].run(using: &rng)
        }).eraseToAny()
    }
}

@Suite struct PropertyBasedTests {
    /// Doubles that break naive code: signed zeros, subnormals, the extremes, infinities, NaN.
    static let awkwardDoubles: [Double] = [
        0, -0.0, .leastNonzeroMagnitude, -.leastNonzeroMagnitude, .leastNormalMagnitude, .leastNormalMagnitude.nextDown,
        .greatestFiniteMagnitude, -.greatestFiniteMagnitude, 1e308, -1e308, 1e15, 1e15.nextDown, -1e15, 0.1, 1 / 3,
        .infinity, -.infinity, .nan, -.nan, 9_007_199_254_740_993, Double(Int.max), Double(Int.min),
    ]
    /// Generators with their shrink sequence erased, so they can be stored and combined freely.
    typealias AnyGenerator<Value> = Generator<Value, AnySequence<Any>>

    static func pick<Value: Sendable>(_ values: [Value]) -> AnyGenerator<Value> {
        Gen<Value?>.element(of: values).map { (value: Value?) -> Value in value! }.eraseToAny()
    }

    static func oneOf<Value>(_ generators: AnyGenerator<Value>...) -> AnyGenerator<Value> {
        Gen<Int>.int(in: 0...(generators.count - 1)).withoutShrink().eraseToAny().flatMapErased(generators)
    }

    static let finiteDoubles: AnyGenerator<Double> = oneOf(
        Gen.double(in: -1000...1000).eraseToAny(),
        Gen.int(in: -1_000_000...1_000_000).map { Double($0) }.eraseToAny(),
        // Two halves: the width of -1e308...1e308 is not a finite Double.
        Gen.double(in: 0...1e308).eraseToAny(),
        Gen.double(in: -1e308...0).eraseToAny(),
        Gen.double(in: -1e-300...1e-300).eraseToAny(),
        pick(awkwardDoubles.filter(\.isFinite))
    )
    /// Any Unicode scalar (no surrogates), with the characters JSON escapes or the writer treats specially made common.
    static let character: AnyGenerator<Character> = oneOf(
        Gen.unicodeScalar(in: "\u{0}"..."\u{D7FF}").map(Character.init).eraseToAny(),
        Gen.unicodeScalar(in: "\u{E000}"..."\u{10FFFF}").map(Character.init).eraseToAny(),
        Gen.unicodeScalar(in: "\u{0}"..."\u{7F}").map(Character.init).eraseToAny(),
        pick(Array("\"\\/<>&\n\r\t\u{8}\u{C}\u{0}\u{1F}\u{7F}\u{2028}\u{2029}é🚀e\u{301}"))
    )
    static let text: AnyGenerator<String> = character.array(of: 0...12).map { String($0) }.eraseToAny()
    static let scalar: AnyGenerator<JSONValue> = oneOf(
        Gen.always(JSONValue.null).eraseToAny(),
        Gen.bool.map { JSONValue.bool($0) }.eraseToAny(),
        finiteDoubles.map { JSONValue.number($0) }.eraseToAny(),
        text.map { JSONValue.string($0) }.eraseToAny()
    )
    static func container(_ element: AnyGenerator<JSONValue>) -> AnyGenerator<JSONValue> {
        let keys = text.array(of: 0...4).eraseToAny()
        let values = element.array(of: 4).eraseToAny()
        return oneOf(
            element,
            element.array(of: 0...4).map { JSONValue.array($0) }.eraseToAny(),
            zip(keys, values).map { (pair: ([String], [JSONValue])) -> JSONValue in
                JSONValue.object(Dictionary(zip(pair.0, pair.1), uniquingKeysWith: { first, _ in first }))
            }.eraseToAny()
        )
    }
    /// JSON documents up to three levels deep.
    static let document = container(container(container(scalar)))

    static func written(_ value: JSONValue) -> [UInt8] {
        var w = JSONWriter()
        value.write(to: &w)
        return w.bytes
    }

    /// Whatever the writer writes, the parser reads back as the same value.
    @Test func theParserReadsWhatTheWriterWrites() async {
        await propertyCheck(count: 2000, input: Self.document) { value in
            let bytes = Self.written(value)
            #expect(throws: Never.self, "\(String(decoding: bytes, as: UTF8.self))") { try JSONValue.parse(bytes) }
            #expect((try? JSONValue.parse(bytes)) == value)
        }
    }

    /// Strings round-trip byte for byte, whatever they contain.
    @Test func stringsRoundTrip() async {
        await propertyCheck(count: 2000, input: Self.character.array(of: 0...64).map { String($0) }) { text in
            #expect((try? JSONValue.parse(Self.written(.string(text)))) == .string(text))
        }
    }

    /// Numbers round-trip exactly (a signed zero reads back as zero, which compares equal).
    @Test func numbersRoundTrip() async {
        await propertyCheck(count: 2000, input: Self.finiteDoubles) { number in
            #expect((try? JSONValue.parse(Self.written(.number(number)))) == .number(number))
        }
    }

    /// Random bytes, and random sequences of JSON's own characters, never crash the parser: it returns a value
    /// (which then round-trips) or throws `JSONParseError`.
    @Test func randomBytesNeverCrashTheParser() async {
        let jsonish = Self.pick(Array("{}[]\",:0123456789.eE+-truefalsn \t\n\\u\"\"".utf8))
        let bytes = Self.oneOf(Gen<UInt8>.value(in: 0...255).array(of: 0...64).eraseToAny(), jsonish.array(of: 0...64).eraseToAny())
        await propertyCheck(count: 5000, input: bytes) { bytes in
            do {
                let value = try JSONValue.parse(bytes)
                #expect((try? JSONValue.parse(Self.written(value))) == value)
            } catch {
                #expect(error is JSONParseError, "\(error)")
            }
        }
    }

    /// Each writable numeric field accepts a number iff it is finite, within the field's bounds and, for integer
    /// fields, whole; and keeps exactly what was sent.
    @Test func numericFieldsAcceptExactlyTheirBounds() async {
        let fields = ServiceField.all.filter { $0.writable && $0.bounds != nil }
        var edges: [Double] = []
        for field in fields {
            for bound in [field.bounds!.lowerBound, field.bounds!.upperBound] {
                edges += [bound, bound.nextUp, bound.nextDown, bound + 0.5, bound - 0.5, bound + 1, bound - 1]
            }
        }
        let numbers = Self.oneOf(Self.finiteDoubles, Self.pick(Self.awkwardDoubles), Self.pick(edges), Gen.double(in: -10...100_000).eraseToAny())
        let fieldGenerator: AnyGenerator<ServiceField> = Self.pick(fields)
        await propertyCheck(count: 3000, input: fieldGenerator, numbers) { (field: ServiceField, number: Double) in
            let bounds = field.bounds!
            let acceptable = number.isFinite && bounds.contains(number) && (field.kind != .integer || number == number.rounded())
            let body: JSONValue = ["name": "n", "url": "http://127.0.0.1:1/", .init(stringLiteral: field.name): .number(number)]
            do {
                let patch = try ServiceInput.parse(body, mode: .create)
                #expect(acceptable, "\(field.name) accepted \(number)")
                let kept: Double? =
                    switch field.name {
                    case "port": patch.port.apply(to: nil).map(Double.init)
                    case "probe_interval_seconds": patch.probeIntervalSeconds.apply(to: nil)
                    case "probe_timeout_seconds": patch.probeTimeoutSeconds.apply(to: nil)
                    case "ttl_seconds": patch.ttlSeconds.apply(to: nil).map(Double.init)
                    case "rise": patch.rise.apply(to: nil).map(Double.init)
                    case "fall": patch.fall.apply(to: nil).map(Double.init)
                    case "deregister_after_seconds": patch.deregisterAfterSeconds.apply(to: nil).map(Double.init)
                    default: nil
                    }
                #expect(kept == number, "\(field.name) kept \(String(describing: kept)) for \(number)")
            } catch let failure as ValidationFailure {
                #expect(!acceptable, "\(field.name) refused \(number): \(failure.issues.map { $0.msg })")
                #expect(failure.issues.count == 1 && failure.issues.first?.loc == [.key("body"), .key(field.name)])
            } catch {
                Issue.record("not a ValidationFailure: \(error)")
            }
        }
    }
}
