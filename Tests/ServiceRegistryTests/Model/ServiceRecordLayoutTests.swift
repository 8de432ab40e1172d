import Foundation
import Testing

@testable import RegistryModel

/// The record's compact layout (issue 14): rarely used fields live in a shared box, yet read, write, compare, encode and
/// decode exactly like the inline ones.
@Suite struct ServiceRecordLayoutTests {
    private static let base = ServiceRecord(
        id: 7, name: "web", url: "http://127.0.0.1:8080/", port: 8080, createdAt: Date(timeIntervalSince1970: 1_700_000_000),
        updatedAt: Date(timeIntervalSince1970: 1_700_000_001))

    /// One write per boxed field, each to a value other than its default.
    private static let rareWrites: [(String, @Sendable (inout ServiceRecord) -> Void)] = [
        ("unit", { $0.unit = "web.service" }), ("activeState", { $0.activeState = "active" }),
        ("subState", { $0.subState = "running" }), ("ports", { $0.ports = [8080, 8443] }),
        ("probeIntervalSeconds", { $0.probeIntervalSeconds = 1e-300 }), ("probeTimeoutSeconds", { $0.probeTimeoutSeconds = -0.0 }),
        ("userOwned", { $0.userOwned = [.url, .labels] }), ("ttlSeconds", { $0.ttlSeconds = 30 }),
        ("heartbeat", { $0.heartbeat = Heartbeat(at: Date(timeIntervalSince1970: 1_700_000_002), status: .passing, output: "ok", expired: nil) }),
        ("rise", { $0.rise = 2 }), ("fall", { $0.fall = 3 }), ("deregisterAfterSeconds", { $0.deregisterAfterSeconds = 600 }),
        ("tcpCheckPort", { $0.tcpCheckPort = 8080 }),
    ]

    @Test func theRecordStaysSmall() {
        // 473 bytes before; every record of the registry is held in memory (docs/scale.md).
        #expect(MemoryLayout<ServiceRecord>.size <= 240)
        #expect(MemoryLayout<ProbeResult>.size <= 115)
    }

    @Test(arguments: 0..<rareWrites.count) func eachBoxedFieldIsWrittenComparedAndStored(_ index: Int) throws {
        let (field, write) = Self.rareWrites[index]
        var record = Self.base
        write(&record)
        #expect(record != Self.base, "\(field): a change must make the records differ")
        // A write to a copy leaves the original alone: the box is shared, never changed in place.
        var copy = record
        copy.rise = 99
        copy.unit = "changed.service"
        #expect(record.rise != 99 && record.unit != "changed.service", "\(field)")
        // Stored (JSONEncoder) and read back both ways: the streamed reader and JSONDecoder.
        let stored = try JSONEncoder().encode(record)
        #expect(try JSONDecoder().decode(ServiceRecord.self, from: stored) == record, "\(field)")
        #expect(ServiceRecord.streamed(Array(stored)) == record, "\(field)")
        // Back to the default: equal to a record that never had it.
        var cleared = record
        Self.clear(field, &cleared)
        #expect(cleared == Self.base, "\(field): clearing must give back the plain record")
    }

    @Test func allBoxedFieldsTogetherRoundTrip() throws {
        var record = Self.base
        for (_, write) in Self.rareWrites { write(&record) }
        let stored = try JSONEncoder().encode(record)
        #expect(try JSONDecoder().decode(ServiceRecord.self, from: stored) == record)
        #expect(ServiceRecord.streamed(Array(stored)) == record)
        for (field, _) in Self.rareWrites { Self.clear(field, &record) }
        #expect(record == Self.base)
    }

    /// A record stored before the layout changed (schema 2's keys, nil optionals omitted) reads the same.
    @Test func aRecordStoredByTheSynthesizedEncoderStillDecodes() throws {
        let old = [
            #"{"id":3,"name":"db","status":"failed","source":"systemd","unit":"db.service","activeState":"failed","subState":"failed","#,
            #""ports":[5432],"labels":{"team":"data"},"followRedirects":true,"createdAt":7.5e8,"updatedAt":7.6e8,"#,
            #""userOwned":["description"],"ttlSeconds":60,"rise":1}"#,
        ].joined()
        let record = try JSONDecoder().decode(ServiceRecord.self, from: Data(old.utf8))
        #expect(ServiceRecord.streamed(Array(old.utf8)) == record)
        #expect(record.unit == "db.service" && record.activeState == "failed" && record.subState == "failed")
        #expect(record.ports == [5432] && record.labels == ["team": "data"] && record.followRedirects)
        #expect(record.userOwned == [.description] && record.ttlSeconds == 60 && record.rise == 1 && record.fall == nil)
        #expect(record.url == nil && record.port == nil && record.heartbeat == nil && record.tcpCheckPort == nil)
    }

    private static func clear(_ field: String, _ record: inout ServiceRecord) {
        switch field {
        case "unit": record.unit = nil
        case "activeState": record.activeState = nil
        case "subState": record.subState = nil
        case "ports": record.ports = []
        case "probeIntervalSeconds": record.probeIntervalSeconds = nil
        case "probeTimeoutSeconds": record.probeTimeoutSeconds = nil
        case "userOwned": record.userOwned = []
        case "ttlSeconds": record.ttlSeconds = nil
        case "heartbeat": record.heartbeat = nil
        case "rise": record.rise = nil
        case "fall": record.fall = nil
        case "deregisterAfterSeconds": record.deregisterAfterSeconds = nil
        case "tcpCheckPort": record.tcpCheckPort = nil
        default: Issue.record("no clear for \(field)")
        }
    }
}
