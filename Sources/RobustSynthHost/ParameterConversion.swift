import Foundation
import RobustSynthCore
import Yams

/// Turns a YAML node into a value of a declared parameter type, with the message a user sees
/// when it does not fit. Used for spec values and for the JSON defaults plugins declare.
enum ParameterConversion {
    struct Problem: Error {
        let message: String
        /// The node the problem is about (an element of a list, say), when narrower than the value.
        let node: Node?
    }

    static func convert(_ node: Node, to decl: ParameterDecl) -> Result<ParameterValue, Problem> {
        if case .list(let element) = decl.type {
            guard case .sequence(let seq) = node else {
                return .failure(Problem(message: "parameter '\(decl.name)' must be a \(decl.type), got \(describe(node))", node: node))
            }
            var items = [ParameterValue]()
            for (i, item) in seq.enumerated() {
                switch scalar(item, element, decl) {
                case .success(let v): items.append(v)
                case .failure(let p):
                    return .failure(Problem(message: "item \(i + 1) of parameter '\(decl.name)': \(p.message)", node: item))
                }
            }
            return .success(.list(items))
        }
        return scalar(node, decl.type, decl).mapError { Problem(message: "parameter '\(decl.name)' \($0.message)", node: node) }
    }

    /// One scalar of type `type`, checked against the declaration's range and choices.
    /// The message reads after "parameter 'x' ".
    private static func scalar(_ node: Node, _ type: ParameterType, _ decl: ParameterDecl) -> Result<ParameterValue, Problem> {
        guard case .scalar(let s) = node else {
            return .failure(Problem(message: "must be a \(type), got \(describe(node))", node: node))
        }
        let text = s.string
        let plain = s.style == .plain
        let value: ParameterValue
        switch type {
        case .bool:
            guard plain, let b = Bool.construct(from: s) else { return .failure(Problem(message: "must be a bool (true or false), got '\(text)'", node: node)) }
            value = .bool(b)
        case .int:
            guard plain, let i = Int64(text) else { return .failure(Problem(message: "must be an int, got '\(text)'", node: node)) }
            value = .int(i)
        case .double:
            guard plain, let d = Double(text), d.isFinite else { return .failure(Problem(message: "must be a double, got '\(text)'", node: node)) }
            value = .double(d)
        case .string, .path:
            if plain && (text == "~" || text == "null" || text.isEmpty) {
                return .failure(Problem(message: "must be a \(type), got nothing", node: node))
            }
            value = .string(text)
        case .list:
            return .failure(Problem(message: "must be a \(type) (nested lists are not supported)", node: node))
        }
        if let problem = checkRange(value, decl, shown: text) { return .failure(Problem(message: problem, node: node)) }
        return .success(value)
    }

    static func checkRange(_ value: ParameterValue, _ decl: ParameterDecl, shown: String? = nil) -> String? {
        let shown = shown ?? value.json
        var number: Double?
        if case .int(let i) = value { number = Double(i) }
        if case .double(let d) = value { number = d }
        if let x = number, let range = decl.rangeText {
            if let lo = decl.minimum, x < lo { return "must be in \(range), got \(shown)" }
            if let hi = decl.maximum, x > hi { return "must be in \(range), got \(shown)" }
        }
        if let choices = decl.choices, case .string(let s) = value, !choices.contains(s) {
            var message = "must be one of \(choices.joined(separator: ", ")); got '\(s)'"
            if let near = closestMatch(to: s, in: choices) { message += " (did you mean '\(near)'?)" }
            return message
        }
        return nil
    }

    static func describe(_ node: Node) -> String {
        switch node {
        case .scalar(let s): return "'\(s.string)'"
        case .mapping: return "a mapping"
        case .sequence: return "a list"
        case .alias: return "an alias"
        }
    }

    /// Parses a declared default (JSON text) into a value of the declared type.
    static func parseDefault(_ json: String, for decl: ParameterDecl) -> Result<ParameterValue, Problem> {
        do {
            guard let node = try Yams.compose(yaml: json) else {
                return .failure(Problem(message: "default '\(json)' is empty", node: nil))
            }
            return convert(node, to: decl).mapError { Problem(message: "default '\(json)': \($0.message)", node: nil) }
        } catch {
            return .failure(Problem(message: "default '\(json)' is not valid JSON", node: nil))
        }
    }
}
