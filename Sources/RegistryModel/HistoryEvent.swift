import Foundation

/// A transition of a service's health or status, kept in LMDB (bounded per service).
public struct HistoryEvent: Codable, Sendable, Equatable {
    public enum Kind: String, Codable, Sendable {
        case health = "health"
        case status = "status"
    }

    /// The stored keys (docs/STORAGE.md); renaming a property must not change them.
    enum CodingKeys: String, CodingKey {
        case at = "at"
        case kind = "kind"
        case from = "from"
        case to = "to"
        case detail = "detail"
    }

    public var at: Date
    public var kind: Kind
    public var from: String
    public var to: String
    /// Why, when known (e.g. the probe error).
    public var detail: String?

    public init(at: Date, kind: Kind, from: String, to: String, detail: String? = nil) {
        self.at = at
        self.kind = kind
        self.from = from
        self.to = to
        self.detail = detail
    }

    public func writeJSON(to w: inout JSONWriter) {
        w.beginObject()
        w.key("at")
        w.timestamp(at)
        w.key("kind")
        w.string(kind.rawValue)
        w.key("from")
        w.string(from)
        w.key("to")
        w.string(to)
        w.key("detail")
        w.optional(detail)
        w.endObject()
    }
}
