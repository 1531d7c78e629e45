/// Typed parameters that every plugin declares. The same declaration drives the spec
/// validator, the libffi call of the plugin's create function, the JSON Schema and `--help`.
public indirect enum ParameterType: Equatable, Sendable, CustomStringConvertible {
    case bool, int, double, string, path
    case list(ParameterType)

    public var description: String {
        switch self {
        case .bool: return "bool"
        case .int: return "int"
        case .double: return "double"
        case .string: return "string"
        case .path: return "path"
        case .list(let e): return "list of \(e)"
        }
    }
}

public enum ParameterValue: Equatable, Sendable, CustomStringConvertible {
    case bool(Bool)
    case int(Int64)
    case double(Double)
    case string(String)  // also paths
    case list([ParameterValue])

    /// JSON text of the value (as written in defaults and manifests).
    public var json: String {
        switch self {
        case .bool(let b): return b ? "true" : "false"
        case .int(let i): return String(i)
        case .double(let d):
            if d == d.rounded(), abs(d) < 1e15 { return String(format: "%.1f", d) }
            return "\(d)"
        case .string(let s): return jsonQuoted(s)
        case .list(let items): return "[" + items.map(\.json).joined(separator: ", ") + "]"
        }
    }

    public var description: String { json }
}

/// A JSON string literal for `s`.
public func jsonQuoted(_ s: String) -> String {
    var out = "\""
    for u in s.unicodeScalars {
        switch u {
        case "\"": out += "\\\""
        case "\\": out += "\\\\"
        case "\n": out += "\\n"
        case "\r": out += "\\r"
        case "\t": out += "\\t"
        default:
            if u.value < 0x20 { out += String(format: "\\u%04x", u.value) } else { out.unicodeScalars.append(u) }
        }
    }
    return out + "\""
}

public struct ParameterDecl: Equatable, Sendable {
    public var name: String
    public var type: ParameterType
    /// nil: the spec must give a value.
    public var defaultValue: ParameterValue?
    public var minimum: Double?
    public var maximum: Double?
    public var doc: String
    public var choices: [String]?

    public init(_ name: String, _ type: ParameterType, default defaultValue: ParameterValue? = nil,
                minimum: Double? = nil, maximum: Double? = nil, choices: [String]? = nil, doc: String) {
        self.name = name; self.type = type; self.defaultValue = defaultValue
        self.minimum = minimum; self.maximum = maximum; self.doc = doc; self.choices = choices
    }

    /// "[0, 1]", "[1, inf)" and so on, or nil when unbounded.
    public var rangeText: String? {
        if minimum == nil && maximum == nil { return nil }
        let lo = minimum.map { "[\(formatNumber($0))" } ?? "(-inf"
        let hi = maximum.map { "\(formatNumber($0))]" } ?? "inf)"
        return "\(lo), \(hi)"
    }
}

func formatNumber(_ d: Double) -> String {
    d == d.rounded() && abs(d) < 1e15 ? String(Int64(d)) : "\(d)"
}

/// The validated values a plugin is created with, by parameter name.
public struct ParameterValues: Sendable {
    public var values: [String: ParameterValue]
    public init(_ values: [String: ParameterValue]) { self.values = values }

    public subscript(name: String) -> ParameterValue? { values[name] }

    public func bool(_ name: String) -> Bool {
        if case .bool(let b)? = values[name] { return b }
        fatalError("parameter \(name) is not a bool")
    }
    public func int(_ name: String) -> Int {
        if case .int(let i)? = values[name] { return Int(i) }
        fatalError("parameter \(name) is not an int")
    }
    public func double(_ name: String) -> Double {
        switch values[name] {
        case .double(let d)?: return d
        case .int(let i)?: return Double(i)
        default: fatalError("parameter \(name) is not a double")
        }
    }
    public func string(_ name: String) -> String {
        if case .string(let s)? = values[name] { return s }
        fatalError("parameter \(name) is not a string")
    }
    public func list(_ name: String) -> [ParameterValue] {
        if case .list(let l)? = values[name] { return l }
        fatalError("parameter \(name) is not a list")
    }
    public func strings(_ name: String) -> [String] {
        list(name).map { if case .string(let s) = $0 { return s }; fatalError("\(name) holds a non-string") }
    }
    public func ints(_ name: String) -> [Int] {
        list(name).map { if case .int(let i) = $0 { return Int(i) }; fatalError("\(name) holds a non-int") }
    }
    public func doubles(_ name: String) -> [Double] {
        list(name).map {
            switch $0 {
            case .double(let d): return d
            case .int(let i): return Double(i)
            default: fatalError("\(name) holds a non-number")
            }
        }
    }
}

import Foundation

/// How a parameter is passed to a plugin's create function (synth_plugin.h): bool as int32,
/// int as int64, double, strings and paths as a C string pointer; a list as a pointer to its
/// items followed by an int64 count.
public enum CArgumentKind: Sendable { case int32, int64, double, pointer }

extension ParameterType {
    public var cArgumentKinds: [CArgumentKind] {
        switch self {
        case .bool: return [.int32]
        case .int: return [.int64]
        case .double: return [.double]
        case .string, .path: return [.pointer]
        case .list: return [.pointer, .int64]
        }
    }

    /// The ABI's type code (SYNTH_PARAM_*).
    public var abiCode: Int32 {
        switch self {
        case .bool: return 1
        case .int: return 2
        case .double: return 3
        case .string: return 4
        case .path: return 5
        case .list(let element): return 0x100 | element.abiCode
        }
    }

    public init?(abiCode: Int32) {
        if abiCode & 0x100 != 0 {
            guard let e = ParameterType(abiCode: abiCode & 0xff) else { return nil }
            self = .list(e)
            return
        }
        switch abiCode {
        case 1: self = .bool
        case 2: self = .int
        case 3: self = .double
        case 4: self = .string
        case 5: self = .path
        default: return nil
        }
    }
}
