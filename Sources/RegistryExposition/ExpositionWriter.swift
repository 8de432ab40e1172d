import Hummingbird

/// The kind of a metric family.
public enum MetricType: String, Sendable {
    case gauge, counter
    /// OpenMetrics `info`: a family `x` whose one sample `x_info` is always 1. The text format 0.0.4 has no
    /// info type, so there it is a gauge named `x_info` (what client libraries do).
    case info
}

/// A metric family: its sample name, type, help text and base unit. The header lines of both formats are
/// encoded once, when the family is declared (families are static), not on every scrape.
public struct MetricFamily: Sendable {
    /// The sample name, identical in both formats (`service_registry_probes_total`, `..._info`).
    public let name: String
    public let type: MetricType
    public let help: String
    /// The base unit (`seconds`, `bytes`), which the name ends with; OpenMetrics writes it as `# UNIT`.
    public let unit: String?
    let textHeader: [UInt8]
    let openMetricsHeader: [UInt8]
    let sampleName: [UInt8]

    public init(_ name: String, _ type: MetricType, unit: String? = nil, help: String) {
        precondition(unit.map { name.hasSuffix("_\($0)") || name.hasSuffix("_\($0)_total") } ?? true, "\(name) must end with its unit")
        precondition(type != .counter || name.hasSuffix("_total"), "counter \(name) must end with _total")
        precondition(type != .info || name.hasSuffix("_info"), "info \(name) must end with _info")
        self.name = name
        self.type = type
        self.help = help
        self.unit = unit
        sampleName = Array(name.utf8)

        var text: [UInt8] = []
        text += "# HELP \(name) ".utf8
        ExpositionWriter.appendEscapedHelp(help, to: &text, format: .text)
        text += "\n# TYPE \(name) \(type == .counter ? "counter" : "gauge")\n".utf8
        textHeader = text

        // OpenMetrics names the family without the `_total` / `_info` suffix its samples carry.
        let family =
            switch type {
            case .counter: String(name.dropLast("_total".count))
            case .info: String(name.dropLast("_info".count))
            case .gauge: name
            }
        var om: [UInt8] = []
        om += "# HELP \(family) ".utf8
        ExpositionWriter.appendEscapedHelp(help, to: &om, format: .openMetrics)
        om += "\n# TYPE \(family) \(type.rawValue)\n".utf8
        if let unit { om += "# UNIT \(family) \(unit)\n".utf8 }
        openMetricsHeader = om
    }
}

/// Writes an exposition straight into bytes. A family's HELP/TYPE header is written just before its first
/// sample, so a family without samples is left out entirely (both formats allow that, and `promtool check
/// metrics` stays quiet); callers write all samples of a family together, after `begin`.
///
/// Label values are escaped per both formats (backslash, double quote, newline); callers pass label sets
/// that are already escaped (`LabelSet`), so each record's labels are escaped once per scrape.
public struct ExpositionWriter: Sendable {
    public let format: ExpositionFormat
    /// What was written since the last chunk was cut (everything, without `chunkBytes`).
    public private(set) var bytes: [UInt8] = []
    /// With `chunkBytes`, the output is cut into buffers of about that size as it is written, and `bytes` is reused
    /// for the next: a large exposition is then held once (in the buffers), not twice (an array, then its copy).
    private let chunkBytes: Int?
    private var chunks: [ByteBuffer] = []
    /// The current family's header while no sample has been written yet; empty afterwards.
    private var pendingHeader: [UInt8] = []
    private var sampleName: [UInt8] = []

    public init(format: ExpositionFormat, capacity: Int = 4096, chunkBytes: Int? = nil) {
        self.format = format
        self.chunkBytes = chunkBytes
        // A chunk ends after the line that passes `chunkBytes`: room for that, and no more than the whole.
        bytes.reserveCapacity(chunkBytes.map { $0 >= capacity ? capacity : min(capacity, $0 + (64 << 10)) } ?? capacity)
    }

    /// Everything written, as buffers in order (one per chunk, or one for all).
    public mutating func takeBuffers() -> [ByteBuffer] {
        if !bytes.isEmpty || chunks.isEmpty { cutChunk() }
        defer { chunks = [] }
        return chunks
    }

    private mutating func cutChunk() {
        chunks.append(ByteBuffer(bytes: bytes))
        bytes.removeAll(keepingCapacity: true)
    }

    /// Starts a family; its header is written with its first sample.
    public mutating func begin(_ family: MetricFamily) {
        pendingHeader = format == .openMetrics ? family.openMetricsHeader : family.textHeader
        sampleName = family.sampleName
    }

    /// One sample of the current family: `name{labels[,extraName="extraValue"]} value`.
    /// - Parameters:
    ///   - labels: an escaped label list without braces (`id="1",name="web"`), possibly empty.
    ///   - extra: one more label (name, raw value), escaped here.
    public mutating func sample(_ labels: LabelSet = .empty, _ extra: (name: StaticString, value: String)? = nil, value: Double) {
        precondition(!sampleName.isEmpty, "sample before begin")
        if !pendingHeader.isEmpty {
            bytes += pendingHeader
            pendingHeader = []
        }
        bytes += sampleName
        if !labels.bytes.isEmpty || extra != nil {
            bytes.append(UInt8(ascii: "{"))
            bytes += labels.bytes
            if let extra {
                if !labels.bytes.isEmpty { bytes.append(UInt8(ascii: ",")) }
                extra.name.withUTF8Buffer { bytes += $0 }
                bytes.append(UInt8(ascii: "="))
                bytes.append(UInt8(ascii: "\""))
                Self.appendEscapedLabelValue(extra.value, to: &bytes)
                bytes.append(UInt8(ascii: "\""))
            }
            bytes.append(UInt8(ascii: "}"))
        }
        bytes.append(UInt8(ascii: " "))
        Self.appendValue(value, to: &bytes)
        bytes.append(UInt8(ascii: "\n"))
        if let chunkBytes, bytes.count >= chunkBytes { cutChunk() }
    }

    /// Ends the exposition: OpenMetrics requires `# EOF`.
    public mutating func finish() {
        if format == .openMetrics { bytes += "# EOF\n".utf8 }
    }

    /// Appends raw, already-rendered exposition lines (a cached block of whole families).
    public mutating func append(rendered: [UInt8]) { bytes += rendered }

    // MARK: Encoding

    /// Label values in both formats: `\` → `\\`, `"` → `\"`, newline → `\n`; everything else (UTF-8
    /// included) is written as is.
    @inline(__always)
    static func appendEscapedLabelValue(_ value: String, to bytes: inout [UInt8]) {
        var value = value
        value.withUTF8 { buffer in
            // Fast path: most values need no escaping.
            if !buffer.contains(where: { $0 == 0x5C || $0 == 0x22 || $0 == 0x0A }) {
                bytes += buffer
                return
            }
            for byte in buffer {
                switch byte {
                case 0x5C: bytes += [0x5C, 0x5C]
                case 0x22: bytes += [0x5C, 0x22]
                case 0x0A: bytes += [0x5C, UInt8(ascii: "n")]
                default: bytes.append(byte)
                }
            }
        }
    }

    /// HELP text: 0.0.4 escapes backslash and newline; OpenMetrics also the double quote.
    static func appendEscapedHelp(_ help: String, to bytes: inout [UInt8], format: ExpositionFormat) {
        for byte in help.utf8 {
            switch byte {
            case 0x5C: bytes += [0x5C, 0x5C]
            case 0x0A: bytes += [0x5C, UInt8(ascii: "n")]
            case 0x22 where format == .openMetrics: bytes += [0x5C, 0x22]
            default: bytes.append(byte)
            }
        }
    }

    /// A sample value as Go's `strconv.ParseFloat` reads it: integers without a fraction, otherwise the
    /// shortest representation that round-trips, `NaN`, `+Inf`, `-Inf`.
    static func appendValue(_ value: Double, to bytes: inout [UInt8]) {
        if value.isNaN {
            bytes += "NaN".utf8
            return
        }
        if value.isInfinite {
            bytes += (value > 0 ? "+Inf" : "-Inf").utf8
            return
        }
        if value == value.rounded(.towardZero), abs(value) < 1e15 {
            appendInteger(Int64(value), to: &bytes)
        } else {
            bytes += value.description.utf8
        }
    }

    static func appendInteger(_ value: Int64, to bytes: inout [UInt8]) {
        if value == 0 {
            bytes.append(UInt8(ascii: "0"))
            return
        }
        var magnitude = value.magnitude
        if value < 0 { bytes.append(UInt8(ascii: "-")) }
        // Up to 20 digits, written back to front into a small stack tuple.
        var digits: (UInt64, UInt64, UInt64) = (0, 0, 0)
        var count = 0
        withUnsafeMutableBytes(of: &digits) { raw in
            while magnitude > 0 {
                raw[23 - count] = UInt8(ascii: "0") + UInt8(magnitude % 10)
                magnitude /= 10
                count += 1
            }
            bytes += raw[(24 - count)...]
        }
    }
}

/// A label list already escaped for the exposition, without braces: `id="1",name="web"`.
public struct LabelSet: Sendable, Equatable {
    public let bytes: [UInt8]

    public static let empty = LabelSet(bytes: [])

    init(bytes: [UInt8]) { self.bytes = bytes }

    /// Escapes each value; names must be valid label names (they are ours, or `label_` + a validated key).
    public init(_ pairs: KeyValuePairs<String, String>) {
        self.init(pairs.map { ($0.key, $0.value) })
    }

    public init(_ pairs: [(String, String)]) {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(pairs.reduce(0) { $0 + $1.0.utf8.count + $1.1.utf8.count + 4 })
        for (index, (name, value)) in pairs.enumerated() {
            if index > 0 { bytes.append(UInt8(ascii: ",")) }
            bytes += name.utf8
            bytes += [UInt8(ascii: "="), UInt8(ascii: "\"")]
            ExpositionWriter.appendEscapedLabelValue(value, to: &bytes)
            bytes.append(UInt8(ascii: "\""))
        }
        self.bytes = bytes
    }
}
