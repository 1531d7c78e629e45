import Foundation
#if canImport(Glibc)
import Glibc
#endif
import RobustSynthCore
import Yams

/// Checks a whole pipeline spec against the plugins in a catalog and reports every problem at
/// its line and column, not just the first.
public enum SpecValidator {
    /// The optimiser's settings, declared like plugin parameters so that they are checked,
    /// documented and put in the JSON Schema the same way.
    public static let optimizerParameters: [ParameterDecl] = [
        ParameterDecl("steps", .int, minimum: 1, maximum: 1_000_000, doc: "PGD steps (default: the task's, from the paper's Table 1)"),
        ParameterDecl("step_size", .double, minimum: 0, doc: "Step size alpha of the constraint's step: L2-normalised, sign (linf-ball) or plain gradient (unconstrained) (default: the task's)"),
        ParameterDecl("use_best", .bool, default: .bool(true), doc: "Keep each sample's lowest-loss iterate rather than the last"),
        ParameterDecl("random_start", .bool, default: .bool(false),
                      doc: "Start from a random point of the constraint's set around x0 (the robustness library's random_start)"),
        ParameterDecl("batch_size", .int, default: .int(8), minimum: 1, maximum: 4096, doc: "Samples per classifier call"),
        ParameterDecl("seed", .int, default: .int(0), minimum: 0, doc: "Seed of the run; each sample draws from its own stream"),
        ParameterDecl("rule", .string, default: .string("plain"), choices: ["plain", "momentum", "adam"],
                      doc: "What each step moves along before the constraint's geometry: plain: the gradient (the paper's); momentum: normalised momentum (MI-FGSM); adam: Adam's direction"),
        ParameterDecl("momentum", .double, default: .double(0.9), minimum: 0, maximum: 1,
                      doc: "rule: momentum: the decay mu of d = mu d + g / ||g||_1"),
        ParameterDecl("beta1", .double, default: .double(0.9), minimum: 0, maximum: 0.999999, doc: "rule: adam: the first moment's decay"),
        ParameterDecl("beta2", .double, default: .double(0.999), minimum: 0, maximum: 0.999999, doc: "rule: adam: the second moment's decay"),
        ParameterDecl("schedule", .string, default: .string("constant"), choices: StepSchedule.allCases.map(\.rawValue),
                      doc: "The step size over the steps: constant (the paper's), linear decay to step_size/steps, or cosine decay"),
    ]
    /// `optimizer.stop`: early stopping, per sample; at least one rule.
    public static let stopParameters: [ParameterDecl] = [
        ParameterDecl("probability", .double, minimum: 0, maximum: 1,
                      doc: "Stop a sample once the classifier's probability of its target class is at least this (tasks with a target class)"),
        ParameterDecl("patience", .int, minimum: 1, maximum: 1_000_000,
                      doc: "Stop a sample once its loss has not fallen by more than min_delta below its lowest value for this many steps"),
        ParameterDecl("min_delta", .double, default: .double(0), minimum: 0,
                      doc: "What counts as an improvement of the loss for patience"),
    ]
    public static let outputParameters: [ParameterDecl] = [
        ParameterDecl("dir", .string, doc: "Run folder, relative to the working directory (default: runs/<spec name>)"),
    ]

    public static let judgeParameters: [ParameterDecl] = [
        ParameterDecl("dataset", .path, doc: "Folder of real labelled images (one folder per class) the k-NN judge compares results with"),
        ParameterDecl("k", .int, default: .int(5), minimum: 1, maximum: 1000, doc: "Neighbours that vote"),
    ]

    public static func validate(path: String, catalog: PluginCatalog) -> Result<PipelineSpec, SpecErrors> {
        guard let data = FileManager.default.contents(atPath: path), let text = String(data: data, encoding: .utf8) else {
            return .failure(SpecErrors(diagnostics: [Diagnostic(file: path, line: 1, column: 1, message: "cannot read the spec file")]))
        }
        return validate(text: text, path: path, catalog: catalog)
    }

    public static func validate(text: String, path: String, catalog: PluginCatalog) -> Result<PipelineSpec, SpecErrors> {
        var v = Validation(path: path, text: text, catalog: catalog)
        let spec = v.run()
        if v.diagnostics.isEmpty, let spec { return .success(spec) }
        return .failure(SpecErrors(diagnostics: v.diagnostics.sorted { ($0.line, $0.column) < ($1.line, $1.column) }))
    }
}

private struct Validation {
    let path: String
    let catalog: PluginCatalog
    var diagnostics: [Diagnostic] = []
    let text: String

    init(path: String, text: String, catalog: PluginCatalog) { self.path = path; self.text = text; self.catalog = catalog }

    mutating func error(_ node: Node?, _ message: String) {
        let mark = node?.mark
        diagnostics.append(Diagnostic(file: path, line: mark?.line ?? 1, column: mark?.column ?? 1, message: message))
    }

    mutating func run() -> PipelineSpec? {
        let root: Node
        do {
            guard let r = try Yams.compose(yaml: text) else { error(nil, "the spec is empty"); return nil }
            root = r
        } catch let e as YamlError {
            reportSyntax(e)
            return nil
        } catch {
            self.error(nil, "cannot parse the spec: \(error)")
            return nil
        }
        guard case .mapping(let top) = root else { error(root, "a spec is a mapping of sections (version, classifier, seed, task, ...)"); return nil }
        let fields = checkKeys(top, allowed: SpecKeys.top, in: "the spec")
        for key in SpecKeys.required where fields[key] == nil {
            error(root, "missing required section '\(key)'")
        }
        if let version = fields["version"] {
            if case .scalar(let s) = version.value, s.string == "1" {} else {
                error(version.value, "unsupported spec version \(ParameterConversion.describe(version.value)): this rsynth reads version 1")
            }
        }
        let classifier = fields["classifier"].flatMap { pluginUse($0.value, section: "classifier", kind: .classifier) }
        let seed = fields["seed"].flatMap { pluginUse($0.value, section: "seed", kind: .seedSampler) }
        let task = fields["task"].flatMap { pluginUse($0.value, section: "task", kind: .task) }
        var constraints = [PipelineSpec.PluginUse]()
        var constraintsOK = true
        if let c = fields["constraints"] {
            if case .sequence(let seq) = c.value {
                for item in seq {
                    if let use = pluginUse(item, section: "constraints", kind: .constraint) { constraints.append(use) } else { constraintsOK = false }
                }
            } else {
                error(c.value, "'constraints' must be a list of plugin uses ({ plugin: NAME, with: {...} })")
                constraintsOK = false
            }
        }
        let optimizer = fields["optimizer"].map { optimizerSection($0.value) } ?? PipelineSpec.Optimizer()
        var outputDirectory: String?
        if let o = fields["output"] {
            let values = settings(o.value, decls: SpecValidator.outputParameters, section: "output")
            if case .string(let s)? = values["dir"] { outputDirectory = s }
        }
        var judge: (String, Int)?
        if let j = fields["judge"] {
            let values = settings(j.value, decls: SpecValidator.judgeParameters, section: "judge")
            if values["dataset"] == nil, case .mapping = j.value { error(j.value, "'judge' needs 'dataset'") }
            if case .string(let d)? = values["dataset"] {
                var k = 5
                if case .int(let i)? = values["k"] { k = Int(i) }
                if case .string(let resolved) = resolvePaths(.string(d), .path) { judge = (resolved, k) }
            }
        }
        if let task { checkStopRule(task, stop: optimizer.stop, optimizerNode: fields["optimizer"]?.value) }
        if let task, constraintsOK { checkRequiredConstraints(task, constraints: constraints, taskNode: fields["task"]!.value) }
        if constraintsOK, case .sequence(let seq)? = fields["constraints"]?.value {
            checkStepGeometries(constraints, nodes: Array(seq), randomStart: optimizer.randomStart,
                                optimizerNode: fields["optimizer"]?.value)
        }
        if let task, let classifier { checkTaps(task, classifier: classifier, taskNode: fields["task"]!.value) }
        if let task, let classifier { checkClasses(task, classifier: classifier, taskNode: fields["task"]!.value) }
        if let dir = outputDirectory, let node = fields["output"].flatMap({ valueNode($0.value, "dir") }),
           let problem = StaticChecks.outputProblem(dir) {
            error(node, "'output.dir': \(problem)")
        }
        if let (dataset, _) = judge, let node = fields["judge"].flatMap({ valueNode($0.value, "dataset") }),
           let problem = StaticChecks.pathProblem(dataset, .folder) {
            error(node, "'judge.dataset': \(problem)")
        }
        guard diagnostics.isEmpty, let classifier, let seed, let task else { return nil }
        return PipelineSpec(path: path, text: text, classifier: classifier, seed: seed, task: task,
                            constraints: constraints, optimizer: optimizer, outputDirectory: outputDirectory,
                            judge: judge)
    }

    mutating func reportSyntax(_ e: YamlError) {
        switch e {
        case .scanner(_, let problem, let mark, _), .parser(_, let problem, let mark, _), .composer(_, let problem, let mark, _):
            diagnostics.append(Diagnostic(file: path, line: mark.line, column: mark.column, message: "YAML syntax: \(problem)"))
        case .duplicatedKeysInMapping(let duplicates, let context):
            diagnostics.append(Diagnostic(file: path, line: context.mark.line, column: context.mark.column,
                                          message: "duplicate key \(duplicates.map { "'\($0)'" }.joined(separator: ", "))"))
        default:
            diagnostics.append(Diagnostic(file: path, line: 1, column: 1, message: "YAML: \(e)"))
        }
    }

    /// The mapping's entries by key; unknown keys reported with "did you mean".
    mutating func checkKeys(_ mapping: Node.Mapping, allowed: [String], in place: String) -> [String: (key: Node, value: Node)] {
        var fields = [String: (key: Node, value: Node)]()
        for (key, value) in mapping {
            guard case .scalar(let k) = key else { error(key, "keys must be plain names"); continue }
            if allowed.contains(k.string) {
                fields[k.string] = (key, value)
            } else {
                var message = "unknown key '\(k.string)' in \(place)"
                if let near = closestMatch(to: k.string, in: allowed) { message += " (did you mean '\(near)'?)" }
                error(key, message)
            }
        }
        return fields
    }

    /// `{ plugin: NAME, with: { ... } }` for a plugin of `kind`.
    mutating func pluginUse(_ node: Node, section: String, kind: PluginKind) -> PipelineSpec.PluginUse? {
        guard case .mapping(let m) = node else {
            error(node, "'\(section)' must be a mapping: { plugin: NAME, with: { ... } }")
            return nil
        }
        let fields = checkKeys(m, allowed: SpecKeys.pluginUse, in: "'\(section)'")
        guard let nameField = fields["plugin"] else { error(node, "'\(section)' needs a 'plugin' name"); return nil }
        guard case .scalar(let n) = nameField.value else { error(nameField.value, "'plugin' must be a name"); return nil }
        let name = n.string
        guard let plugin = catalog.plugin(named: name) else {
            error(nameField.value, catalog.unknownPluginMessage(name, kind: kind))
            return nil
        }
        guard plugin.info.kind == kind else {
            error(nameField.value, "plugin '\(name)' is a \(plugin.info.kind.rawValue), but '\(section)' needs a \(kind.rawValue)")
            return nil
        }
        var given = [String: ParameterValue]()
        var mentioned = Set<String>()
        var failed = false
        var withNode: Node?
        if let w = fields["with"] {
            withNode = w.value
            if case .mapping(let wm) = w.value {
                let names = plugin.info.parameters.map(\.name)
                for (key, value) in wm {
                    guard case .scalar(let k) = key else { error(key, "parameter names must be plain names"); failed = true; continue }
                    guard let decl = plugin.info.parameters.first(where: { $0.name == k.string }) else {
                        var message = "plugin '\(name)' has no parameter '\(k.string)'"
                        if let near = closestMatch(to: k.string, in: names) { message += " (did you mean '\(near)'?)" }
                        else if names.isEmpty { message += " (it takes none)" }
                        error(key, message)
                        failed = true
                        continue
                    }
                    mentioned.insert(decl.name)
                    switch ParameterConversion.convert(value, to: decl) {
                    case .success(let v):
                        given[decl.name] = v
                        checkFiles(resolvePaths(v, decl.type), decl: decl, node: value)
                    case .failure(let p): error(p.node ?? value, p.message); failed = true
                    }
                }
            } else if case .scalar(let s) = w.value, s.string.isEmpty || s.string == "~" || s.string == "null" {
                // `with:` left empty: no parameters.
            } else {
                error(w.value, "'with' must be a mapping of parameter names to values")
                failed = true
            }
        }
        for decl in plugin.info.parameters where decl.defaultValue == nil && !mentioned.contains(decl.name) {
            error(withNode ?? nameField.value, "plugin '\(name)' needs parameter '\(decl.name)' (\(decl.type)): \(decl.doc)")
            failed = true
        }
        if failed { return nil }
        var values = [String: ParameterValue]()
        for decl in plugin.info.parameters {
            let v = given[decl.name] ?? decl.defaultValue!
            values[decl.name] = resolvePaths(v, decl.type)
        }
        return PipelineSpec.PluginUse(plugin: plugin, values: ParameterValues(values), given: given)
    }

    /// Relative paths in a spec are relative to the spec's folder.
    func resolvePaths(_ value: ParameterValue, _ type: ParameterType) -> ParameterValue {
        switch (type, value) {
        case (.path, .string(let s)) where !s.isEmpty && !s.hasPrefix("/"):
            let base = URL(fileURLWithPath: path).deletingLastPathComponent()
            return .string(base.appendingPathComponent(s).standardizedFileURL.path)
        case (.list(let e), .list(let items)):
            return .list(items.map { resolvePaths($0, e) })
        default:
            return value
        }
    }

    /// A mapping of settings declared like parameters (optimizer, output); `sections` are
    /// nested mappings the caller reads itself.
    mutating func settings(_ node: Node, decls: [ParameterDecl], section: String, sections: [String] = []) -> [String: ParameterValue] {
        guard case .mapping(let m) = node else { error(node, "'\(section)' must be a mapping"); return [:] }
        let fields = checkKeys(m, allowed: decls.map(\.name) + sections, in: "'\(section)'")
        var values = [String: ParameterValue]()
        for decl in decls {
            guard let f = fields[decl.name] else { continue }
            switch ParameterConversion.convert(f.value, to: decl) {
            case .success(let v): values[decl.name] = v
            case .failure(let p): error(p.node ?? f.value, p.message.replacingOccurrences(of: "parameter '", with: "'\(section).", options: .anchored))
            }
        }
        return values
    }

    mutating func optimizerSection(_ node: Node) -> PipelineSpec.Optimizer {
        let v = settings(node, decls: SpecValidator.optimizerParameters, section: "optimizer", sections: ["stop"])
        var o = PipelineSpec.Optimizer()
        if let stop = valueNode(node, "stop") { o.stop = stopRule(stop) }
        if case .int(let i)? = v["steps"] { o.steps = Int(i) }
        if case .double(let d)? = v["step_size"] { o.stepSize = d }
        if case .bool(let b)? = v["use_best"] { o.useBest = b }
        if case .bool(let b)? = v["random_start"] { o.randomStart = b }
        if case .int(let i)? = v["batch_size"] { o.batchSize = Int(i) }
        if case .int(let i)? = v["seed"] { o.seed = UInt64(i) }
        if case .string(let sc)? = v["schedule"], let schedule = StepSchedule(rawValue: sc) { o.schedule = schedule }
        let rule: String
        if case .string(let r)? = v["rule"] { rule = r } else { rule = "plain" }
        func number(_ key: String, _ fallback: Double) -> Double {
            if case .double(let d)? = v[key] { return d }
            return fallback
        }
        switch rule {
        case "momentum": o.rule = .momentum(number("momentum", 0.9))
        case "adam": o.rule = .adam(beta1: number("beta1", 0.9), beta2: number("beta2", 0.999))
        default: o.rule = .plain
        }
        // A rule's setting without the rule would be silently ignored: say so at the key.
        for (key, owner) in [("momentum", "momentum"), ("beta1", "adam"), ("beta2", "adam")] where rule != owner {
            if let k = valueNode(node, key) {
                error(k, "'optimizer.\(key)' is a setting of 'rule: \(owner)', but the rule is '\(rule)': add 'rule: \(owner)' or remove it")
            }
        }
        return o
    }

    /// `optimizer.stop`: `{ probability: P }`, `{ patience: N, min_delta: D }` or both.
    mutating func stopRule(_ node: Node) -> StopRule? {
        guard case .mapping = node else {
            error(node, "'optimizer.stop' must be a mapping: { probability: P } and/or { patience: N, min_delta: D }")
            return nil
        }
        let count = diagnostics.count
        let v = settings(node, decls: SpecValidator.stopParameters, section: "optimizer.stop")
        var rule = StopRule()
        if case .double(let p)? = v["probability"] { rule.probability = p }
        if case .int(let n)? = v["patience"] { rule.patience = Int(n) }
        if case .double(let d)? = v["min_delta"] { rule.minDelta = d }
        guard diagnostics.count == count else { return nil }
        if rule.patience == nil, let d = valueNode(node, "min_delta") {
            error(d, "'optimizer.stop.min_delta' needs 'patience' (the steps without such an improvement before a sample stops)")
            return nil
        }
        if rule.probability == nil, rule.patience == nil {
            error(node, "'optimizer.stop' needs 'probability' (stop once the target's probability is at least P) or 'patience' (stop once the loss stalls for N steps)")
            return nil
        }
        return rule
    }

    /// The probability rule needs a target class; a task whose targets are not classes
    /// (representation inversion, feature visualisation, paint-with-features) has none.
    mutating func checkStopRule(_ task: PipelineSpec.PluginUse, stop: StopRule?, optimizerNode: Node?) {
        guard stop?.probability != nil, task.plugin.info.facts?.targetsAreNotClasses == true,
              let node = optimizerNode.flatMap({ valueNode($0, "stop") }).flatMap({ valueNode($0, "probability") }) else { return }
        error(node, "'optimizer.stop.probability' needs a target class, but the samples of task '\(task.plugin.info.name)' have none: use 'patience' (and 'min_delta') to stop when the loss stalls")
    }

    /// A task names the constraints it cannot do without; the spec must list them. Read from
    /// the task's static facts: validation never creates a plugin. (A task built for ABI 1
    /// states none; the run checks it once it exists.)
    mutating func checkRequiredConstraints(_ task: PipelineSpec.PluginUse, constraints: [PipelineSpec.PluginUse], taskNode: Node) {
        guard let required = task.plugin.info.facts?.requiredConstraints else { return }
        let present = Set(constraints.map(\.plugin.info.name))
        for name in required where !present.contains(name) {
            error(pluginNode(taskNode), "task '\(task.plugin.info.name)' needs a '\(name)' constraint: add { plugin: \(name), with: {...} } under 'constraints'")
        }
    }

    /// At most one constraint sets the step; a random start needs one that does.
    mutating func checkStepGeometries(_ constraints: [PipelineSpec.PluginUse], nodes: [Node], randomStart: Bool, optimizerNode: Node?) {
        var first: String?
        for (use, node) in zip(constraints, nodes) {
            let g = use.plugin.info.facts?.stepGeometry ?? .none
            guard g != .none else { continue }
            if let f = first {
                error(pluginNode(node), "constraint '\(use.plugin.info.name)' sets the \(g.rawValue) step, but '\(f)' already sets the step: keep one of them")
            } else {
                first = use.plugin.info.name
            }
        }
        if randomStart, first == nil {
            error(optimizerNode.flatMap { valueNode($0, "random_start") } ?? optimizerNode,
                  "'optimizer.random_start' needs a constraint that sets the step (l2-ball, linf-ball or unconstrained)")
        }
    }

    /// A tap the task reads must be one the classifier may offer (its facts: names or
    /// fnmatch patterns); the run checks the exact list once the classifier is loaded.
    mutating func checkTaps(_ task: PipelineSpec.PluginUse, classifier: PipelineSpec.PluginUse, taskNode: Node) {
        guard let facts = task.plugin.info.facts, let offered = classifier.plugin.info.facts?.taps else { return }
        var wanted = facts.taps.map { ($0, pluginNode(taskNode)) }
        if let p = facts.tapParameter, case .string(let tap)? = task.values[p] {
            wanted.append((tap, withNode(taskNode).flatMap { valueNode($0, p) } ?? pluginNode(taskNode)))
        }
        for (tap, node) in wanted where !offered.contains(where: { fnmatch($0, tap, 0) == 0 }) {
            var message = offered.isEmpty
                ? "classifier '\(classifier.plugin.info.name)' offers no taps, but task '\(task.plugin.info.name)' reads '\(tap)'"
                : "classifier '\(classifier.plugin.info.name)' has no tap '\(tap)'"
            if !offered.isEmpty {
                if let near = closestMatch(to: tap, in: offered.filter { !$0.contains("*") }) { message += " (did you mean '\(near)'?)" }
                message += "; it offers " + offered.joined(separator: ", ")
            }
            error(node, message)
        }
    }

    /// A path parameter names what exists: a regular file, or a folder where its name or doc
    /// says so (StaticChecks.expectation), unless the plugin writes it (StaticChecks.isOutput); a checkpoint starts as one. Only stat and the first
    /// bytes are read; the error is at the value (or the list item).
    mutating func checkFiles(_ value: ParameterValue, decl: ParameterDecl, node: Node) {
        if StaticChecks.isOutput(decl) { return }
        switch (decl.type, value) {
        case (.path, .string(let path)) where !path.isEmpty:
            if let problem = StaticChecks.pathProblem(path, StaticChecks.expectation(decl)) {
                error(node, "parameter '\(decl.name)': \(problem)")
            } else if StaticChecks.expectation(decl) == .file, StaticChecks.isCheckpoint(decl),
                      let problem = StaticChecks.checkpointProblem(path) {
                error(node, "parameter '\(decl.name)': \(problem)")
            }
        case (.list(.path), .list(let items)):
            guard case .sequence(let seq) = node else { return }
            for (i, (item, itemNode)) in zip(items, seq).enumerated() {
                guard case .string(let path) = item, !path.isEmpty,
                      let problem = StaticChecks.pathProblem(path, StaticChecks.expectation(decl)) else { continue }
                error(itemNode, "item \(i + 1) of parameter '\(decl.name)': \(problem)")
            }
        default:
            break
        }
    }

    /// Classes a task names (`classes`, `*_class`, `*_classes`) must be the classifier's, where
    /// its classes are known without creating it (StaticChecks.labels).
    mutating func checkClasses(_ task: PipelineSpec.PluginUse, classifier: PipelineSpec.PluginUse, taskNode: Node) {
        guard let labels = StaticChecks.labels(of: classifier), let with = withNode(taskNode) else { return }
        let name = classifier.plugin.info.name
        for decl in task.plugin.info.parameters where StaticChecks.isClassParameter(decl) {
            guard let node = valueNode(with, decl.name), let value = task.given[decl.name] else { continue }
            switch (value, node) {
            case (.string(let text), _) where !text.isEmpty:
                if let problem = StaticChecks.classProblem(text, labels, classifier: name) {
                    error(node, "parameter '\(decl.name)': \(problem)")
                }
            case (.list(let items), .sequence(let seq)):
                for (i, (item, itemNode)) in zip(items, seq).enumerated() {
                    guard case .string(let text) = item, !text.isEmpty,
                          let problem = StaticChecks.classProblem(text, labels, classifier: name) else { continue }
                    error(itemNode, "item \(i + 1) of parameter '\(decl.name)': \(problem)")
                }
            default:
                break
            }
        }
    }

    /// The value node of `key` in a mapping node.
    func valueNode(_ node: Node, _ key: String) -> Node? {
        if case .mapping(let m) = node { return m[key] }
        return nil
    }

    /// The `with:` mapping of a plugin use.
    func withNode(_ node: Node) -> Node? { valueNode(node, "with") }

    func pluginNode(_ node: Node) -> Node {
        if case .mapping(let m) = node, let p = m["plugin"] { return p }
        return node
    }
}
