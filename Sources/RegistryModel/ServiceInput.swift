import Foundation

/// One validation problem, shaped like FastAPI's: `{"loc": ["body", "port"], "msg": "...", "type": "..."}`.
public struct ValidationIssue: Error, Sendable, Equatable {
    public enum Location: Sendable, Equatable {
        case key(String)
        case index(Int)
    }

    public var loc: [Location]
    public var msg: String
    public var type: String

    public init(loc: [Location], msg: String, type: String) {
        self.loc = loc
        self.msg = msg
        self.type = type
    }

    public static func body(_ field: String?, _ msg: String, type: String = "value_error") -> ValidationIssue {
        ValidationIssue(loc: [.key("body")] + (field.map { [.key($0)] } ?? []), msg: msg, type: type)
    }
}

/// A set of validation problems, answered with 422.
public struct ValidationFailure: Error, Sendable {
    public var issues: [ValidationIssue]
    public init(_ issues: [ValidationIssue]) { self.issues = issues }
}

/// A field of a partial update: absent (unchanged), explicitly null (cleared), or a new value.
public enum PatchField<Value: Sendable & Equatable>: Sendable, Equatable {
    case absent
    case null
    case value(Value)

    public var isPresent: Bool { if case .absent = self { false } else { true } }

    /// Applies the patch to an optional field.
    public func apply(to current: Value?) -> Value? {
        switch self {
        case .absent: current
        case .null: nil
        case .value(let value): value
        }
    }
}

/// Validated input of POST (registration) and PUT (partial update).
public struct ServicePatch: Sendable, Equatable {
    public var name: String?
    public var url: PatchField<String> = .absent
    public var status: ServiceStatus?
    public var port: PatchField<Int> = .absent
    public var description: PatchField<String> = .absent
    public var healthURL: PatchField<String> = .absent
    public var labels: PatchField<[String: String]> = .absent
    public var probeIntervalSeconds: PatchField<Double> = .absent
    public var probeTimeoutSeconds: PatchField<Double> = .absent
    public var followRedirects: Bool?
    public var ttlSeconds: PatchField<Int> = .absent
    public var rise: PatchField<Int> = .absent
    public var fall: PatchField<Int> = .absent
    public var deregisterAfterSeconds: PatchField<Int> = .absent
    /// Read-only fields the client echoed back (`id`, `source`, …), checked against the stored record.
    public var echoedReadOnly: [String: JSONValue] = [:]

    public init(name: String? = nil) { self.name = name }
}

public enum ServiceInput {
    // Names and limits come from the field table (`ServiceField`), as the OpenAPI schema's do.
    public static let maxNameLength = ServiceField.name.maxLength!
    public static let maxDescriptionLength = ServiceField.description.maxLength!
    public static let maxURLLength = ServiceField.url.maxLength!
    public static let maxLabels = ServiceField.labels.maxLength!
    public static let maxLabelValueLength = ServiceField.labelValueMaxLength

    static let writableFields = Set(ServiceField.all.filter(\.writable).map(\.name))
    /// Fields the registry owns; a client may echo them back unchanged (a PUT of a record it just GOT).
    static let readOnlyFields = Set(ServiceField.all.filter { !$0.writable }.map(\.name))
    public static let allFields = writableFields.union(readOnlyFields)

    public enum Mode: Sendable { case create, update }

    /// Validates a request body. `.create` (POST) requires `name` and `url`; `.update` (PUT) takes any subset.
    public static func parse(_ body: JSONValue, mode: Mode) throws(ValidationFailure) -> ServicePatch {
        guard case .object(let object) = body else {
            throw ValidationFailure([ValidationIssue(loc: [.key("body")], msg: "Input should be a JSON object", type: "model_attributes_type")])
        }
        var issues: [ValidationIssue] = []
        var patch = ServicePatch()

        for key in object.keys.sorted() where !allFields.contains(key) {
            issues.append(.body(key, "Extra inputs are not permitted", type: "extra_forbidden"))
        }
        for key in object.keys.sorted() where readOnlyFields.contains(key) {
            patch.echoedReadOnly[key] = object[key]
        }

        func string(_ field: String, _ value: JSONValue) -> String? {
            guard case .string(let s) = value else {
                issues.append(.body(field, "Input should be a valid string", type: "string_type"))
                return nil
            }
            return s
        }

        // name
        switch object["name"] {
        case nil:
            if mode == .create { issues.append(.body("name", "Field required", type: "missing")) }
        case .null?:
            issues.append(.body("name", "name cannot be null", type: "string_type"))
        case let value?:
            if let raw = string("name", value) {
                do { patch.name = try validateName(raw) } catch { issues.append(error) }
            }
        }

        // url (required on create through the API, SPEC §1)
        switch object["url"] {
        case nil:
            if mode == .create { issues.append(.body("url", "Field required", type: "missing")) }
        case .null?:
            if mode == .create { issues.append(.body("url", "url is required when registering a service", type: "missing")) }
            patch.url = .null
        case let value?:
            if let raw = string("url", value) {
                do { patch.url = .value(try validateURL(raw, field: "url")) } catch { issues.append(error) }
            }
        }

        switch object["status"] {
        case nil: break
        case let value?:
            if case .string(let s) = value, let status = ServiceStatus(rawValue: s) {
                patch.status = status
            } else {
                issues.append(.body("status", "Input should be 'active', 'inactive' or 'failed'", type: "enum"))
            }
        }

        switch object["port"] {
        case nil: break
        case .null?: patch.port = .null
        case .number(let n)?:
            if n != n.rounded() || !n.isFinite {
                issues.append(.body("port", "Input should be a valid integer", type: "int_type"))
            } else if let bounds = ServiceField.port.bounds, !bounds.contains(n) {
                issues.append(.body("port", "port must be between \(Int(bounds.lowerBound)) and \(Int(bounds.upperBound))", type: "value_error"))
            } else {
                patch.port = .value(Int(n))
            }
        case .some:
            issues.append(.body("port", "Input should be a valid integer", type: "int_type"))
        }

        switch object["description"] {
        case nil: break
        case .null?: patch.description = .null
        case let value?:
            if let s = string("description", value) {
                if s.unicodeScalars.count > maxDescriptionLength {
                    issues.append(.body("description", "description must be at most \(maxDescriptionLength) characters", type: "string_too_long"))
                } else if s.unicodeScalars.contains(where: { $0.value < 0x20 && $0 != "\t" && $0 != "\n" }) {
                    issues.append(.body("description", "description must not contain control characters", type: "value_error"))
                } else {
                    patch.description = .value(s)
                }
            }
        }

        switch object["health_url"] {
        case nil: break
        case .null?: patch.healthURL = .null
        case let value?:
            if let raw = string("health_url", value) {
                do { patch.healthURL = .value(try validateHealthURL(raw)) } catch { issues.append(error) }
            }
        }

        switch object["labels"] {
        case nil: break
        case .null?: patch.labels = .null
        case .object(let members)?:
            if members.count > maxLabels {
                issues.append(.body("labels", "at most \(maxLabels) labels are allowed", type: "value_error"))
            }
            var labels: [String: String] = [:]
            for key in members.keys.sorted() {
                let loc: [ValidationIssue.Location] = [.key("body"), .key("labels"), .key(key)]
                if !isValidLabelKey(key) {
                    issues.append(
                        ValidationIssue(loc: loc, msg: "label keys must match [a-zA-Z_][a-zA-Z0-9_]* and not start with __", type: "value_error"))
                } else if case .string(let v) = members[key]! {
                    if v.unicodeScalars.count > maxLabelValueLength {
                        issues.append(
                            ValidationIssue(loc: loc, msg: "label values must be at most \(maxLabelValueLength) characters", type: "string_too_long"))
                    } else {
                        labels[key] = v
                    }
                } else {
                    issues.append(ValidationIssue(loc: loc, msg: "Input should be a valid string", type: "string_type"))
                }
            }
            patch.labels = .value(labels)
        case .some:
            issues.append(.body("labels", "Input should be an object of string values", type: "dict_type"))
        }

        // SPEC §12: an interval below 1 s or a timeout below 0.1 s could wedge the prober; they are refused.
        func seconds(_ field: String, _ bounds: ClosedRange<Double>) -> PatchField<Double> {
            switch object[field] {
            case nil: return .absent
            case .null?: return .null
            case .number(let n)?:
                if bounds.contains(n) { return .value(n) }
                let text = { (d: Double) in d == d.rounded() ? String(Int(d)) : String(d) }
                issues.append(
                    .body(
                        field, "\(field) must be between \(text(bounds.lowerBound)) and \(text(bounds.upperBound)) seconds",
                        type: "value_error"))
            case .some:
                issues.append(.body(field, "Input should be a valid number", type: "float_type"))
            }
            return .absent
        }
        patch.probeIntervalSeconds = seconds(ServiceField.probeIntervalSeconds.name, ServiceField.probeIntervalSeconds.bounds!)
        patch.probeTimeoutSeconds = seconds(ServiceField.probeTimeoutSeconds.name, ServiceField.probeTimeoutSeconds.bounds!)

        switch object["follow_redirects"] {
        case nil: break
        case .bool(let b)?: patch.followRedirects = b
        case .some: issues.append(.body("follow_redirects", "Input should be a valid boolean", type: "bool_type"))
        }

        // SPEC §9: integers in a range, or null to clear.
        func integer(_ spec: ServiceField) -> PatchField<Int> {
            let field = spec.name
            let range = Int(spec.bounds!.lowerBound)...Int(spec.bounds!.upperBound)
            switch object[field] {
            case nil: return .absent
            case .null?: return .null
            case .number(let n)?:
                if n.isFinite && n == n.rounded() && n >= Double(range.lowerBound) && n <= Double(range.upperBound) { return .value(Int(n)) }
                if !n.isFinite || n != n.rounded() {
                    issues.append(.body(field, "Input should be a valid integer", type: "int_type"))
                } else {
                    issues.append(.body(field, "\(field) must be between \(range.lowerBound) and \(range.upperBound)", type: "value_error"))
                }
            case .some:
                issues.append(.body(field, "Input should be a valid integer", type: "int_type"))
            }
            return .absent
        }
        patch.ttlSeconds = integer(.ttlSeconds)
        patch.rise = integer(.rise)
        patch.fall = integer(.fall)
        patch.deregisterAfterSeconds = integer(.deregisterAfterSeconds)

        if !issues.isEmpty { throw ValidationFailure(issues) }
        return patch
    }

    /// A heartbeat body (SPEC §9): empty, or `{"status": "passing"|"warning"|"critical", "output": "..."}`.
    public static func parseHeartbeat(_ body: JSONValue?) throws(ValidationFailure) -> (status: CheckStatus, output: String?) {
        guard let body else { return (.passing, nil) }
        guard case .object(let object) = body else {
            throw ValidationFailure([ValidationIssue(loc: [.key("body")], msg: "Input should be a JSON object", type: "model_attributes_type")])
        }
        var issues: [ValidationIssue] = []
        for key in object.keys.sorted() where key != "status" && key != "output" {
            issues.append(.body(key, "Extra inputs are not permitted", type: "extra_forbidden"))
        }
        var status = CheckStatus.passing
        switch object["status"] {
        case nil: break
        case .string(let s)? where ["passing", "warning", "critical"].contains(s): status = CheckStatus(rawValue: s)!
        case .some: issues.append(.body("status", "Input should be 'passing', 'warning' or 'critical'", type: "enum"))
        }
        var output: String?
        switch object["output"] {
        case nil, .null?: break
        case .string(let s)?: output = s
        case .some: issues.append(.body("output", "Input should be a valid string", type: "string_type"))
        }
        if !issues.isEmpty { throw ValidationFailure(issues) }
        return (status, output)
    }

    /// Trims, then requires 1–100 characters (Unicode scalars, as Python counts) without control characters.
    public static func validateName(_ raw: String) throws(ValidationIssue) -> String {
        // Control characters are refused anywhere, even where trimming would remove them.
        if raw.unicodeScalars.contains(where: isControl) {
            throw .body("name", "name must not contain control characters", type: "value_error")
        }
        let name = raw.trimmingCharacters(in: .whitespacesAndNewlines)
        if name.isEmpty {
            throw .body("name", "name must not be empty", type: "string_too_short")
        }
        if name.unicodeScalars.count > maxNameLength {
            throw .body("name", "name must be at most \(maxNameLength) characters", type: "string_too_long")
        }
        return name
    }

    /// An absolute http:// or https:// URL with a host, without whitespace or control characters.
    public static func validateURL(_ raw: String, field: String) throws(ValidationIssue) -> String {
        let value = raw.trimmingCharacters(in: .whitespaces)
        if value.utf8.count > maxURLLength {
            throw .body(field, "\(field) must be at most \(maxURLLength) characters", type: "string_too_long")
        }
        if value.unicodeScalars.contains(where: { isControl($0) || $0 == " " }) {
            throw .body(field, "\(field) must not contain spaces or control characters", type: "url_parsing")
        }
        guard let components = URLComponents(string: value),
            let scheme = components.scheme?.lowercased(), scheme == "http" || scheme == "https"
        else {
            throw .body(field, "\(field) must be an absolute http:// or https:// URL", type: "url_scheme")
        }
        guard let host = components.host, !host.isEmpty else {
            throw .body(field, "\(field) must have a host", type: "url_parsing")
        }
        if let port = components.port, !(1...65535).contains(port) {
            throw .body(field, "\(field) has an invalid port", type: "url_parsing")
        }
        return value
    }

    /// `health_url`: an http(s) URL, or `tcp://HOST:PORT` for a TCP check (SPEC §9).
    public static func validateHealthURL(_ raw: String) throws(ValidationIssue) -> String {
        let value = raw.trimmingCharacters(in: .whitespaces)
        guard TCPCheck.isTCPTarget(value) else { return try validateURL(raw, field: "health_url") }
        if value.utf8.count > maxURLLength {
            throw .body("health_url", "health_url must be at most \(maxURLLength) characters", type: "string_too_long")
        }
        if value.unicodeScalars.contains(where: { isControl($0) || $0 == " " }) {
            throw .body("health_url", "health_url must not contain spaces or control characters", type: "url_parsing")
        }
        guard TCPCheck.connectURL(value) != nil else {
            throw .body("health_url", "a tcp health_url must be tcp://HOST:PORT (port 1-65535, no path)", type: "url_parsing")
        }
        return value
    }

    public static func isValidLabelKey(_ key: String) -> Bool {
        guard let first = key.unicodeScalars.first, !key.hasPrefix("__") else { return false }
        func isLetter(_ c: Unicode.Scalar) -> Bool { ("a"..."z").contains(c) || ("A"..."Z").contains(c) || c == "_" }
        return isLetter(first) && key.unicodeScalars.allSatisfy { isLetter($0) || ("0"..."9").contains($0) }
    }

    static func isControl(_ scalar: Unicode.Scalar) -> Bool {
        scalar.value < 0x20 || (0x7F...0x9F).contains(scalar.value) || scalar.value == 0x2028 || scalar.value == 0x2029
    }
}
