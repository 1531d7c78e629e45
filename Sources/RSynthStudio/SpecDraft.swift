import Foundation
import RobustSynthCore
import RobustSynthHost
import Yams

/// A spec as the studio's form holds it: the spec's own structure (`classifier: {plugin, with}`,
/// `constraints: [...]`, `optimizer: {...}`) as JSON. The server turns it into the YAML that
/// `rsynth run` reads, remembering which field each line came from, so `rsynth validate`'s
/// line:column errors can be shown at the form's fields; and turns YAML (an example, a pasted
/// spec) back into it, with every path made absolute.
public indirect enum SpecValue: Codable, Equatable, Sendable {
    case bool(Bool), int(Int), double(Double), string(String), list([SpecValue]), map([String: SpecValue])

    public init(from decoder: Decoder) throws {
        let c = try decoder.singleValueContainer()
        if let b = try? c.decode(Bool.self) { self = .bool(b) }
        else if let i = try? c.decode(Int.self) { self = .int(i) }
        else if let d = try? c.decode(Double.self) { self = .double(d) }
        else if let s = try? c.decode(String.self) { self = .string(s) }
        else if let l = try? c.decode([SpecValue].self) { self = .list(l) }
        else if let m = try? c.decode([String: SpecValue].self) { self = .map(m) }
        else { throw DecodingError.dataCorruptedError(in: c, debugDescription: "null or an unknown value") }
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.singleValueContainer()
        switch self {
        case .bool(let b): try c.encode(b)
        case .int(let i): try c.encode(i)
        case .double(let d): try c.encode(d)
        case .string(let s): try c.encode(s)
        case .list(let l): try c.encode(l)
        case .map(let m): try c.encode(m)
        }
    }

    /// From what Yams loads; nil (YAML's null) drops out of a mapping.
    init?(yaml: Any?) {
        switch yaml {
        case let b as Bool: self = .bool(b)
        case let i as Int: self = .int(i)
        case let d as Double: self = .double(d)
        case let s as String: self = .string(s)
        case let l as [Any]: self = .list(l.compactMap { SpecValue(yaml: $0) })
        case let m as [AnyHashable: Any]:
            var out = [String: SpecValue]()
            for (k, v) in m { if let v = SpecValue(yaml: v) { out["\(k.base)"] = v } }
            self = .map(out)
        default: return nil
        }
    }

    var map: [String: SpecValue]? { if case .map(let m) = self { return m } else { return nil } }

    /// The value on one line of YAML: JSON's notation, which is YAML's flow notation.
    var flow: String {
        switch self {
        case .bool(let b): return b ? "true" : "false"
        case .int(let i): return String(i)
        case .double(let d): return d.isFinite ? String(d) : (d.isNaN ? ".nan" : (d < 0 ? "-.inf" : ".inf"))
        case .string(let s):
            let e = JSONEncoder()
            e.outputFormatting = [.withoutEscapingSlashes]
            return String(decoding: try! e.encode(s), as: UTF8.self)
        case .list(let l): return "[" + l.map(\.flow).joined(separator: ", ") + "]"
        case .map(let m): return "{" + SpecDraft.ordered(m.keys).map { "\($0): \(m[$0]!.flow)" }.joined(separator: ", ") + "}"
        }
    }
}

public enum SpecDraft {
    /// YAML and, for each of its lines, the field it sets (`classifier.with.weights`,
    /// `constraints.0.with.eps`, `optimizer`).
    public struct Text: Equatable {
        public let yaml: String
        public let fields: [String]
        public func field(line: Int) -> String { fields.indices.contains(line - 1) ? fields[line - 1] : "" }
    }

    static let sectionOrder = ["version", "classifier", "seed", "task", "constraints", "optimizer", "judge", "output"]

    /// The pipeline's sections in the order specs are written (`top`), then the rest by name.
    static func ordered(_ keys: Dictionary<String, SpecValue>.Keys, top: Bool = false) -> [String] {
        keys.sorted { a, b in
            let order = top ? sectionOrder : ["plugin", "with"]
            let (i, j) = (order.firstIndex(of: a) ?? 99, order.firstIndex(of: b) ?? 99)
            return i != j ? i < j : a < b
        }
    }

    /// Block YAML for `spec`: mappings one key a line, lists of mappings as `- ` items, other
    /// lists and scalars in flow notation on their key's line.
    public static func yaml(_ spec: [String: SpecValue], header: String? = nil) -> Text {
        var lines = [String](), fields = [String]()
        if let header {
            for h in header.split(separator: "\n", omittingEmptySubsequences: false) { lines.append("# " + h); fields.append("") }
        }
        emit(spec, indent: 0, path: "", &lines, &fields)
        return Text(yaml: lines.joined(separator: "\n") + "\n", fields: fields)
    }

    static func emit(_ map: [String: SpecValue], indent: Int, path: String, _ lines: inout [String], _ fields: inout [String]) {
        let pad = String(repeating: " ", count: indent)
        for key in ordered(map.keys, top: indent == 0) {
            let value = map[key]!, here = path.isEmpty ? key : path + "." + key
            switch value {
            case .map(let m) where !m.isEmpty:
                lines.append(pad + key + ":"); fields.append(here)
                emit(m, indent: indent + 2, path: here, &lines, &fields)
            case .list(let items) where !items.isEmpty && items.allSatisfy({ $0.map.map { !$0.isEmpty } ?? false }):
                lines.append(pad + key + ":"); fields.append(here)
                for (i, item) in items.enumerated() {
                    let first = lines.count
                    emit(item.map!, indent: indent + 4, path: here + ".\(i)", &lines, &fields)
                    lines[first] = pad + "  - " + lines[first].dropFirst(indent + 4)
                }
            default:
                lines.append(pad + key + ": " + value.flow); fields.append(here)
            }
        }
    }

    /// The spec in YAML text as a draft, its relative paths made absolute against `base` (the
    /// spec's folder, as `rsynth run` reads them). nil when the text is not a YAML mapping.
    public static func parse(_ text: String, base: String, catalog: PluginCatalog) -> [String: SpecValue]? {
        guard let loaded = try? Yams.load(yaml: text), let spec = SpecValue(yaml: loaded)?.map else { return nil }
        return absolutePaths(spec, base: base, catalog: catalog)
    }

    /// Every parameter the plugins declare as a path (or a list of paths), and `judge.dataset`,
    /// made absolute against `base`; `output` is dropped (the studio names the run folder).
    public static func absolutePaths(_ spec: [String: SpecValue], base: String, catalog: PluginCatalog) -> [String: SpecValue] {
        func absolute(_ v: SpecValue, _ type: ParameterType) -> SpecValue {
            switch (type, v) {
            case (.path, .string(let s)) where !s.isEmpty && !s.hasPrefix("/"):
                return .string(URL(fileURLWithPath: base).appendingPathComponent(s).standardizedFileURL.path)
            case (.list(let e), .list(let items)): return .list(items.map { absolute($0, e) })
            default: return v
            }
        }
        func use(_ v: SpecValue) -> SpecValue {
            guard var m = v.map, case .string(let name)? = m["plugin"], let with = m["with"]?.map,
                  let plugin = catalog.plugin(named: name) else { return v }
            var out = with
            for decl in plugin.info.parameters { if let given = with[decl.name] { out[decl.name] = absolute(given, decl.type) } }
            m["with"] = .map(out)
            return .map(m)
        }
        var spec = spec
        for section in ["classifier", "seed", "task"] { if let v = spec[section] { spec[section] = use(v) } }
        if case .list(let items)? = spec["constraints"] { spec["constraints"] = .list(items.map(use)) }
        if var judge = spec["judge"]?.map, let d = judge["dataset"] {
            judge["dataset"] = absolute(d, .path)
            spec["judge"] = .map(judge)
        }
        spec["output"] = nil
        return spec
    }

    /// One problem of a draft, at the form's field.
    public struct Problem: Codable, Equatable {
        public var field: String
        public var line: Int
        public var column: Int
        /// `rsynth validate`'s message.
        public var message: String
        /// Its whole line, `SPEC:LINE:COLUMN: error: MESSAGE`.
        public var text: String
    }

    public struct Problems: Error { public let list: [Problem] }

    /// `rsynth validate` of the draft written as YAML to `path` (not written here).
    public static func validate(_ text: Text, path: String, catalog: PluginCatalog) -> Result<PipelineSpec, Problems> {
        switch SpecValidator.validate(text: text.yaml, path: path, catalog: catalog) {
        case .success(let s): return .success(s)
        case .failure(let e):
            return .failure(Problems(list: e.diagnostics.map {
                Problem(field: text.field(line: $0.line), line: $0.line, column: $0.column, message: $0.message, text: $0.description)
            }))
        }
    }
}
