import Foundation
import Testing

@testable import RegistryHTTP
@testable import RegistryModel

@Suite struct JSONTests {
    func written(_ body: (inout JSONWriter) -> Void) -> String {
        var w = JSONWriter()
        body(&w)
        return String(decoding: w.bytes, as: UTF8.self)
    }

    @Test func integersAndNumbers() {
        #expect(written { $0.int(0) } == "0")
        #expect(written { $0.int(-42) } == "-42")
        #expect(written { $0.int(Int.max) } == "\(Int.max)")
        #expect(written { $0.int(Int.min) } == "\(Int.min)")
        #expect(written { $0.number(2.5) } == "2.5")
        #expect(written { $0.number(3) } == "3")
        #expect(written { $0.number(.nan) } == "null")
    }

    @Test func timestampsAreRFC3339UTC() {
        #expect(written { $0.timestamp(Date(timeIntervalSince1970: 1_795_861_800)) } == #""2026-11-28T10:30:00Z""#)
        #expect(RFC3339.format(Date(timeIntervalSince1970: 0.9)) == "1970-01-01T00:00:00Z")
    }

    @Test func stringsAreEscapedAndRoundTrip() throws {
        let hostile = "quote\" backslash\\ newline\n tab\t nul\u{0} bell\u{7} <script>&amp; ünï 🚀 \u{2028}"
        let json = written { $0.string(hostile) }
        #expect(!json.contains("<") && !json.contains(">") && !json.contains("&"))
        #expect(try JSONValue.parse(Array(json.utf8)) == .string(hostile))
        // Foundation agrees with our encoding.
        let decoded = try JSONSerialization.jsonObject(with: Data("[\(json)]".utf8)) as? [String]
        #expect(decoded == [hostile])
    }

    @Test func containersGetCommasRight() {
        let json = written { w in
            w.beginObject()
            w.key("a")
            w.beginArray()
            for i in 1...3 {
                w.comma()
                w.int(i)
            }
            w.endArray()
            w.key("b")
            w.beginObject()
            w.endObject()
            w.key("c")
            w.null()
            w.endObject()
        }
        #expect(json == #"{"a":[1,2,3],"b":{},"c":null}"#)
    }

    @Test func recordJSONParsesBackWithEveryField() throws {
        let record = ServiceRecord(
            id: 7, name: "n\"x", url: "http://h:1", port: 1, labels: ["b": "2", "a": "1"],
            createdAt: Date(timeIntervalSince1970: 0), updatedAt: Date(timeIntervalSince1970: 60))
        let json = try JSONValue.parse(record.jsonBytes)
        #expect(json["name"] == "n\"x")
        #expect(json["labels"] == ["a": "1", "b": "2"])
        #expect(json["updated_at"] == "1970-01-01T00:01:00Z")
        #expect(Set(record.jsonKeys) == ServiceInput.allFields)
    }

    @Test func parserAcceptsValidJSON() throws {
        #expect(
            try JSONValue.parse(Array(#" {"a": [1, -2.5e3, true, false, null, "\u00e9\ud83d\ude80"]} "#.utf8))
                == ["a": [1, -2500, true, false, nil, "é🚀"]])
    }
}
