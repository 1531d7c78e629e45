import RobustSynthCore
import SynthPluginABI

/// Reads a C parameter declaration into a ParameterDecl, checking that it makes sense.
enum ParameterDeclReader {
    static func read(_ d: synth_param_decl) -> Result<ParameterDecl, PluginLoader.Invalid> {
        guard let namePtr = d.name else { return .failure(.init(reason: "has no name")) }
        let name = String(cString: namePtr)
        guard let type = ParameterType(abiCode: d.type) else {
            return .failure(.init(reason: "'\(name)' has unknown type code \(d.type)"))
        }
        var choices: [String]?
        if let c = d.choices {
            var list = [String]()
            var i = 0
            while let s = c[i] { list.append(String(cString: s)); i += 1 }
            choices = list
        }
        var decl = ParameterDecl(name, type,
                                 minimum: d.has_minimum != 0 ? d.minimum : nil,
                                 maximum: d.has_maximum != 0 ? d.maximum : nil,
                                 choices: choices,
                                 doc: d.doc.map { String(cString: $0) } ?? "")
        if let json = d.default_json {
            switch ParameterConversion.parseDefault(String(cString: json), for: decl) {
            case .success(let v): decl.defaultValue = v
            case .failure(let p): return .failure(.init(reason: "'\(name)': \(p.message)"))
            }
        }
        return .success(decl)
    }
}
