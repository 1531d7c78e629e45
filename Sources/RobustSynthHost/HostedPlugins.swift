import Foundation
import RobustSynthCore
import SynthPluginABI

// Swift conformers around loaded C descriptors: the rest of the host sees only the protocols.
// Each call passes caller-allocated buffers, checks the status and turns a failure into a
// HostedPluginError carrying the plugin's own message.

/// A created plugin instance: its context, destroyed with it, and the plugin's last message
/// turned into an error carrying its name.
final class PluginHandle {
    let plugin: LoadedPlugin
    let context: UnsafeMutableRawPointer
    private let lastError: (@convention(c) (UnsafeMutableRawPointer?) -> UnsafePointer<CChar>?)?
    private let destroy: (@convention(c) (UnsafeMutableRawPointer?) -> Void)?
    /// What create was given: released (after destroy) with the handle.
    private let arguments: CreateArguments

    init(_ plugin: LoadedPlugin, _ created: (context: UnsafeMutableRawPointer, arguments: CreateArguments),
         lastError: (@convention(c) (UnsafeMutableRawPointer?) -> UnsafePointer<CChar>?)?,
         destroy: (@convention(c) (UnsafeMutableRawPointer?) -> Void)?) {
        self.plugin = plugin; self.context = created.context; self.arguments = created.arguments
        self.lastError = lastError; self.destroy = destroy
    }

    deinit { destroy?(context) }

    func check(_ status: synth_status) throws {
        guard status != SYNTH_OK else { return }
        let message = lastError?(context).map { String(cString: $0) } ?? "failed without a message"
        throw HostedPluginError(plugin: plugin.info.name, message: message)
    }
}

func describe(_ shape: [Int], _ data: UnsafeMutablePointer<Float>?) -> synth_tensor {
    var st = synth_tensor()
    st.data = data
    st.rank = Int32(shape.count)
    withUnsafeMutableBytes(of: &st.shape) { raw in
        let dims = raw.bindMemory(to: Int64.self)
        for i in 0..<4 { dims[i] = i < shape.count ? Int64(shape[i]) : 1 }
    }
    return st
}

/// Calls `body` with a synth_tensor over `t`'s storage, which the plugin fills.
private func withOutput<R>(_ t: inout Tensor, _ body: (UnsafeMutablePointer<synth_tensor>) throws -> R) rethrows -> R {
    let shape = t.shape
    return try t.data.withUnsafeMutableBufferPointer { buf in
        var st = describe(shape, buf.baseAddress)
        return try body(&st)
    }
}

/// Calls `body` with a synth_tensor over `t`'s storage without copying it: inputs are read-only
/// by the ABI's contract (synth_plugin.h), so the pointer is only nominally mutable. This is the
/// hot path: a ResNet step's input is 1.2 M floats per image.
private func withInput<R>(_ t: Tensor, _ body: (UnsafePointer<synth_tensor>) throws -> R) rethrows -> R {
    try t.data.withUnsafeBufferPointer { buf in
        var st = describe(t.shape, UnsafeMutablePointer(mutating: buf.baseAddress))
        return try body(&st)
    }
}

public final class HostedClassifier: Classifier {
    let handle: PluginHandle
    let iface: synth_classifier_iface
    public let inputShape: ImageShape
    public let numClasses: Int
    public let taps: [TapInfo]
    /// The taps of the most recent forward (their gradients' shapes).
    private var lastTaps: [TapInfo] = []

    init(_ plugin: LoadedPlugin, created: (context: UnsafeMutableRawPointer, arguments: CreateArguments)) throws {
        iface = plugin.interface(synth_classifier_iface.self)
        handle = PluginHandle(plugin, created, lastError: iface.last_error, destroy: iface.destroy)
        let context = created.context
        var info = synth_classifier_info()
        let infoFunction = iface.info!
        try handle.check(PluginCallGuard.calling(plugin, "info") { infoFunction(context, &info) })
        inputShape = ImageShape(channels: Int(info.channels), height: Int(info.height), width: Int(info.width))
        numClasses = Int(info.num_classes)
        var taps = [TapInfo]()
        if let count = iface.tap_count, let describeTap = iface.tap_info {
            for i in 0..<max(count(context), 0) {
                var name: UnsafePointer<CChar>? = nil
                var shape = synth_tensor()
                try handle.check(describeTap(context, i, &name, &shape))
                let dims = withUnsafeBytes(of: shape.shape) { Array($0.bindMemory(to: Int64.self).prefix(Int(min(max(shape.rank, 0), 4)))) }
                guard let name, dims.allSatisfy({ $0 > 0 && $0 < 1 << 24 }) else {
                    throw HostedPluginError(plugin: plugin.info.name, message: "tap \(i) has no name or an impossible shape \(dims)")
                }
                taps.append(TapInfo(name: String(cString: name), shape: dims.map(Int.init)))
            }
        }
        self.taps = taps
    }

    public func className(_ index: Int) -> String? {
        iface.class_name?(handle.context, Int64(index)).map { String(cString: $0) }
    }

    public func forward(_ x: Tensor) throws -> Tensor { try forward(x, taps: []).logits }

    public func inputGradient(_ dlogits: Tensor) throws -> Tensor { try inputGradient(dlogits, tapGradients: []) }

    public func forward(_ x: Tensor, taps names: [String]) throws -> (logits: Tensor, taps: [Tensor]) {
        var logits = Tensor(zeros: [x.batch, numClasses])
        if names.isEmpty {
            lastTaps = []
            try handle.check(withInput(x) { xt in withOutput(&logits) { lt in PluginCallGuard.calling(handle.plugin, "forward") { iface.forward!(handle.context, xt, lt) } } })
            return (logits, [])
        }
        let wanted = try names.map { name -> TapInfo in
            guard let t = taps.first(where: { $0.name == name }) else {
                throw HostedPluginError(plugin: handle.plugin.info.name, message: Self.unknownTapMessage(name, offered: taps))
            }
            return t
        }
        guard let forwardTaps = iface.forward_taps else {
            throw HostedPluginError(plugin: handle.plugin.info.name, message: "offers taps but cannot compute them")
        }
        var values = wanted.map { Tensor(zeros: [x.batch] + $0.shape) }
        let cNames = names.map { strdup($0)! }
        defer { cNames.forEach { free($0) } }
        let status = withInput(x) { xt in
            withOutput(&logits) { lt in
                withOutputs(&values) { tapTensors in
                    cNames.map { UnsafePointer($0) as UnsafePointer<CChar>? }.withUnsafeBufferPointer { np in
                        PluginCallGuard.calling(handle.plugin, "forward_taps") { forwardTaps(handle.context, xt, lt, Int32(names.count), np.baseAddress, tapTensors) }
                    }
                }
            }
        }
        try handle.check(status)
        lastTaps = wanted
        return (logits, values)
    }

    public func inputGradient(_ dlogits: Tensor, tapGradients: [Tensor?]) throws -> Tensor {
        var dx = Tensor(zeros: [dlogits.batch, inputShape.channels, inputShape.height, inputShape.width])
        if lastTaps.isEmpty {
            guard tapGradients.allSatisfy({ $0 == nil }) else {
                throw HostedPluginError(plugin: handle.plugin.info.name, message: "tap gradients given for a forward without taps")
            }
            try handle.check(withInput(dlogits) { dt in withOutput(&dx) { dxt in PluginCallGuard.calling(handle.plugin, "input_gradient") { iface.input_gradient!(handle.context, dt, dxt) } } })
            return dx
        }
        guard tapGradients.count == lastTaps.count else {
            throw HostedPluginError(plugin: handle.plugin.info.name, message: "\(tapGradients.count) tap gradients for \(lastTaps.count) taps")
        }
        for (g, t) in zip(tapGradients, lastTaps) {
            if let g, g.shape != [dlogits.batch] + t.shape {
                throw HostedPluginError(plugin: handle.plugin.info.name, message: "gradient of tap '\(t.name)' has shape \(g.shape), expected \([dlogits.batch] + t.shape)")
            }
        }
        let status: synth_status = withInput(dlogits) { dt in
            withOutput(&dx) { dxt in
                withInputs(tapGradients, shapes: lastTaps.map { [dlogits.batch] + $0.shape }) { gt in
                    PluginCallGuard.calling(handle.plugin, "input_gradient_taps") { iface.input_gradient_taps!(handle.context, dt, Int32(lastTaps.count), gt, dxt) }
                }
            }
        }
        try handle.check(status)
        return dx
    }
}

/// synth_tensors over several tensors' own storage, which the plugin fills (no copies: a tap is
/// read every step).
func withOutputs<R>(_ ts: inout [Tensor], _ body: (UnsafeMutablePointer<synth_tensor>) throws -> R) rethrows -> R {
    var descs = [synth_tensor]()
    func pin(_ i: Int) throws -> R {
        if i == ts.count { return try descs.withUnsafeMutableBufferPointer { try body($0.baseAddress!) } }
        let shape = ts[i].shape
        var data = ts[i].data   // moved out (ts[i] gives it up below), so no copy is made
        ts[i].data = []
        defer { ts[i].data = data }
        return try data.withUnsafeMutableBufferPointer { buf in
            descs.append(describe(shape, buf.baseAddress))
            return try pin(i + 1)
        }
    }
    return try pin(0)
}

/// synth_tensors over optional tensors' own storage (nil: data NULL, "zero"), read-only for the
/// plugin by the ABI's contract.
func withInputs<R>(_ ts: [Tensor?], shapes: [[Int]], _ body: (UnsafePointer<synth_tensor>) throws -> R) rethrows -> R {
    var descs = [synth_tensor]()
    func pin(_ i: Int) throws -> R {
        if i == ts.count { return try descs.withUnsafeBufferPointer { try body($0.baseAddress!) } }
        guard let t = ts[i] else {
            descs.append(describe(shapes[i], nil))
            return try pin(i + 1)
        }
        return try t.data.withUnsafeBufferPointer { buf in
            descs.append(describe(shapes[i], UnsafeMutablePointer(mutating: buf.baseAddress)))
            return try pin(i + 1)
        }
    }
    return try pin(0)
}

public final class HostedSeedSampler: SeedSampler {
    let handle: PluginHandle
    let iface: synth_seed_sampler_iface
    var context: UnsafeMutableRawPointer { handle.context }

    init(_ plugin: LoadedPlugin, created: (context: UnsafeMutableRawPointer, arguments: CreateArguments)) {
        iface = plugin.interface(synth_seed_sampler_iface.self)
        handle = PluginHandle(plugin, created, lastError: iface.last_error, destroy: iface.destroy)
    }

    public var itemCount: Int? {
        guard let f = iface.item_count else { return nil }
        let n = f(context)
        return n < 0 ? nil : Int(n)
    }

    public var itemLabels: [Int]? {
        guard let f = iface.item_labels, let n = itemCount else { return nil }
        var labels = [Int64](repeating: -1, count: n)
        let status = labels.withUnsafeMutableBufferPointer { f(context, $0.baseAddress) }
        return status == SYNTH_OK ? labels.map(Int.init) : nil
    }

    public func sample(_ request: SeedRequest, shape: ImageShape) throws -> (images: Tensor, labels: [Int]?) {
        let n = request.count
        var out = Tensor(zeros: [n, shape.channels, shape.height, shape.width])
        var labels = [Int64](repeating: -1, count: n)
        let classes = request.classes.map(Int64.init)
        let items = request.items?.map(Int64.init)
        let status: synth_status = classes.withUnsafeBufferPointer { c in
            request.seeds.withUnsafeBufferPointer { s in
                (items ?? []).withUnsafeBufferPointer { it in
                    var r = synth_seed_request(n: Int64(n), classes: c.baseAddress, seeds: s.baseAddress,
                                               items: items == nil ? nil : it.baseAddress)
                    return withOutput(&out) { o in labels.withUnsafeMutableBufferPointer { l in PluginCallGuard.calling(handle.plugin, "sample") { iface.sample!(context, &r, o, l.baseAddress) } } }
                }
            }
        }
        try handle.check(status)
        let known = labels.allSatisfy { $0 >= 0 }
        return (out, known ? labels.map(Int.init) : nil)
    }
}

public final class HostedConstraint: Constraint {
    let handle: PluginHandle
    let iface: synth_constraint_iface
    var context: UnsafeMutableRawPointer { handle.context }

    init(_ plugin: LoadedPlugin, created: (context: UnsafeMutableRawPointer, arguments: CreateArguments)) {
        iface = plugin.interface(synth_constraint_iface.self)
        handle = PluginHandle(plugin, created, lastError: iface.last_error, destroy: iface.destroy)
    }

    public var name: String { handle.plugin.info.name }
    public var hasPenalty: Bool { iface.penalty != nil }
    public var hasProjection: Bool { iface.project != nil }
    /// The stated geometry; a constraint that states one must have a step function.
    public var stepGeometry: StepGeometry { iface.step == nil ? .none : handle.plugin.info.facts?.stepGeometry ?? .none }
    public var hasRandomStart: Bool { iface.random_start != nil }

    public func step(_ batch: ConstraintBatch, x: inout Tensor, gradient: Tensor, stepSize: Double) throws {
        guard let f = iface.step else { return stepGeometry.apply(&x, gradient: gradient, stepSize: stepSize) }
        let status = withBatch(batch) { b in
            gradient.data.withUnsafeBufferPointer { g in
                x.data.withUnsafeMutableBufferPointer { xp in PluginCallGuard.calling(handle.plugin, "step") { f(context, b, xp.baseAddress, g.baseAddress, stepSize) } }
            }
        }
        try handle.check(status)
    }

    public func randomStart(_ batch: ConstraintBatch, x: inout Tensor, seeds: [UInt64], stepSize: Double) throws {
        guard let f = iface.random_start else { return }
        let status = withBatch(batch) { b in
            seeds.withUnsafeBufferPointer { s in
                x.data.withUnsafeMutableBufferPointer { xp in PluginCallGuard.calling(handle.plugin, "random_start") { f(context, b, s.baseAddress, stepSize, xp.baseAddress) } }
            }
        }
        try handle.check(status)
    }

    private func withBatch<R>(_ b: ConstraintBatch, _ body: (UnsafePointer<synth_batch>) -> R) -> R {
        let s = b.x0.shape
        return b.x0.data.withUnsafeBufferPointer { x0 in
            func call(_ mask: UnsafePointer<Float>?) -> R {
                var batch = synth_batch(n: Int64(s[0]), channels: Int64(s[1]), height: Int64(s[2]), width: Int64(s[3]),
                                        x0: x0.baseAddress, mask: mask)
                return body(&batch)
            }
            if let m = b.mask { return m.data.withUnsafeBufferPointer { call($0.baseAddress) } }
            return call(nil)
        }
    }

    public func penalty(_ batch: ConstraintBatch, x: Tensor, loss: inout [Float], gradient: inout Tensor) throws {
        guard let f = iface.penalty else { return }
        let status = withBatch(batch) { b in
            x.data.withUnsafeBufferPointer { xs in
                loss.withUnsafeMutableBufferPointer { l in
                    gradient.data.withUnsafeMutableBufferPointer { g in PluginCallGuard.calling(handle.plugin, "penalty") { f(context, b, xs.baseAddress, l.baseAddress, g.baseAddress) } }
                }
            }
        }
        try handle.check(status)
    }

    public func project(_ batch: ConstraintBatch, x: inout Tensor) throws {
        guard let f = iface.project else { return }
        let status = withBatch(batch) { b in x.data.withUnsafeMutableBufferPointer { p in PluginCallGuard.calling(handle.plugin, "project") { f(context, b, p.baseAddress) } } }
        try handle.check(status)
    }
}

public final class HostedTask: SynthesisTask {
    let handle: PluginHandle
    let iface: synth_task_iface
    public let defaultSteps: Int
    public let defaultStepSize: Double
    var context: UnsafeMutableRawPointer { handle.context }
    /// What plan()'s callbacks reach through `host`, and the strings they handed out: kept
    /// for the instance's lifetime (a task may keep the class names it was given).
    private var setupBox: SetupBox?

    init(_ plugin: LoadedPlugin, created: (context: UnsafeMutableRawPointer, arguments: CreateArguments)) {
        iface = plugin.interface(synth_task_iface.self)
        handle = PluginHandle(plugin, created, lastError: iface.last_error, destroy: iface.destroy)
        // Static facts first (ABI 2), then the instance's own defaults (ABI 1), then the
        // paper's generation settings: 60 steps of 1.
        var steps: Int64 = 60, size = 1.0
        if let facts = plugin.info.facts, facts.defaultSteps != nil || facts.defaultStepSize != nil {
            steps = Int64(facts.defaultSteps ?? 60); size = facts.defaultStepSize ?? 1
        } else if let f = iface.defaults, f(created.context, &steps, &size) != SYNTH_OK {
            (steps, size) = (60, 1)
        }
        defaultSteps = Int(steps)
        defaultStepSize = size
    }

    private final class SetupBox {
        let setup: TaskSetup
        var strings: [UnsafeMutablePointer<CChar>] = []
        var tapNames: [UnsafePointer<CChar>?] = []
        var tapShapes: [synth_tensor] = []
        init(_ setup: TaskSetup) { self.setup = setup }
        deinit {
            for s in strings { free(s) }
            for s in tapNames { free(UnsafeMutableRawPointer(mutating: s)) }
        }
        func keep(_ s: String) -> UnsafePointer<CChar> {
            let p = strdup(s)!
            strings.append(p)
            return UnsafePointer(p)
        }
    }

    public func plan(_ setup: TaskSetup) throws -> [TaskItem] {
        let box = SetupBox(setup)
        setupBox = box
        let host = Unmanaged.passUnretained(box).toOpaque()
        var s = synth_task_setup()
        s.num_classes = Int64(setup.numClasses)
        s.channels = Int64(setup.inputShape.channels)
        s.height = Int64(setup.inputShape.height)
        s.width = Int64(setup.inputShape.width)
        s.source_item_count = Int64(setup.sourceItemCount ?? -1)
        s.host = host
        let labels = setup.sourceItemLabels.map { $0.map(Int64.init) }
        s.resolve_class = { host, name in
            let b = Unmanaged<SetupBox>.fromOpaque(host!).takeUnretainedValue()
            return Int64(b.setup.resolveClass(String(cString: name!)) ?? -1)
        }
        s.suggest_class = { host, name in
            let b = Unmanaged<SetupBox>.fromOpaque(host!).takeUnretainedValue()
            return b.setup.suggestClass(String(cString: name!)).map { b.keep($0) }
        }
        s.class_name = { host, index in
            let b = Unmanaged<SetupBox>.fromOpaque(host!).takeUnretainedValue()
            return b.keep(b.setup.className(Int(index)))
        }
        s.struct_size = UInt32(MemoryLayout<synth_task_setup>.size)
        s.tap_count = Int32(setup.taps.count)
        box.tapNames = setup.taps.map { UnsafePointer(strdup($0.name)!) as UnsafePointer<CChar>? }
        box.tapShapes = setup.taps.map { describe($0.shape, nil) }
        var count: Int64 = 0
        try (labels ?? []).withUnsafeBufferPointer { l in
            s.source_item_labels = labels == nil ? nil : l.baseAddress
            try box.tapNames.withUnsafeBufferPointer { names in
                try box.tapShapes.withUnsafeBufferPointer { shapes in
                    s.tap_names = setup.taps.isEmpty ? nil : names.baseAddress
                    s.tap_shapes = setup.taps.isEmpty ? nil : shapes.baseAddress
                    try handle.check(PluginCallGuard.calling(handle.plugin, "plan") { iface.plan!(context, &s, &count) })
                }
            }
        }
        guard count >= 0, count <= 100_000_000 else {
            throw HostedPluginError(plugin: handle.plugin.info.name, message: "planned \(count) items")
        }
        var items = [TaskItem]()
        for i in 0..<count {
            var t = synth_task_item()
            try handle.check(PluginCallGuard.calling(handle.plugin, "item") { iface.item!(context, i, &t) })
            items.append(TaskItem(seedClass: t.seed_class < 0 ? nil : Int(t.seed_class),
                                  sourceItem: t.source_item < 0 ? nil : Int(t.source_item),
                                  target: Int(t.target), group: Int(t.group)))
        }
        return items
    }

    public func prepare(items: [Int], seeds: [UInt64], source: Tensor) throws -> (x0: Tensor, mask: Tensor?) {
        var x0 = Tensor(zeros: source.shape)
        var mask = Tensor(zeros: [source.batch, 1, source.shape[2], source.shape[3]])
        let it = items.map(Int64.init)
        let status = it.withUnsafeBufferPointer { i in
            seeds.withUnsafeBufferPointer { s in
                withInput(source) { st in withOutput(&x0) { xt in withOutput(&mask) { mt in
                    PluginCallGuard.calling(handle.plugin, "prepare") { iface.prepare!(context, i.baseAddress, s.baseAddress, st, xt, mt) }
                } } }
            }
        }
        try handle.check(status)
        return (x0, mask.data.contains { $0 != 0 } ? mask : nil)
    }

    public var requiredConstraints: [String] {
        if let facts = handle.plugin.info.facts { return facts.requiredConstraints }
        guard let f = iface.required_constraints else { return [] }
        return PluginLoader.strings(f(context))
    }

    public var taps: [String] {
        guard let f = iface.taps else { return [] }
        return PluginLoader.strings(f(context))
    }

    public func objective(_ input: ObjectiveInput) throws -> ObjectiveOutput {
        guard let f = iface.objective else { return try Objectives.crossEntropy(input) }
        let n = input.count
        var loss = [Float](repeating: 0, count: n)
        var dlogits = Tensor(zeros: input.logits.shape)
        var dtaps = input.taps.map { Tensor(zeros: $0.shape) }
        var dx = Tensor(zeros: input.x.shape)
        let items = input.items.map(Int64.init), targets = input.targets.map(Int64.init)
        let status: synth_status = items.withUnsafeBufferPointer { ip in
            targets.withUnsafeBufferPointer { tp in
                withInput(input.x) { xt in
                    withOptionalData(input.mask) { mp in
                        withInput(input.logits) { lt in
                            withInputs(input.taps, shapes: input.taps.map(\.shape)) { taps in
                                withOptionalInputs(input.sourceTaps) { sourceTaps in
                                    loss.withUnsafeMutableBufferPointer { lp in
                                        withOutput(&dlogits) { dl in
                                            withOutputs(&dtaps) { dt in
                                                withOutput(&dx) { dxt in
                                                    var inp = synth_objective_input(
                                                        struct_size: UInt32(MemoryLayout<synth_objective_input>.size), n: Int64(n),
                                                        items: ip.baseAddress, targets: tp.baseAddress, x: xt, mask: mp, logits: lt,
                                                        ntaps: Int32(input.taps.count), taps: taps, source_taps: sourceTaps)
                                                    var out = synth_objective_output(
                                                        struct_size: UInt32(MemoryLayout<synth_objective_output>.size),
                                                        loss: lp.baseAddress, dlogits: dl, dtaps: dt, dx: dxt)
                                                    return PluginCallGuard.calling(handle.plugin, "objective") { f(context, &inp, &out) }
                                                }
                                            }
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
        try handle.check(status)
        // Every Swift task exports an objective (the SDK cannot tell an override from the default
        // cross-entropy), so most leave dx zero: report it absent and the optimiser adds nothing.
        return ObjectiveOutput(loss: loss, dlogits: dlogits, dtaps: dtaps, dx: dx.data.contains { $0 != 0 } ? dx : nil)
    }
}

private func withOptionalData<R>(_ t: Tensor?, _ body: (UnsafePointer<Float>?) throws -> R) rethrows -> R {
    guard let t else { return try body(nil) }
    return try t.data.withUnsafeBufferPointer { try body($0.baseAddress) }
}

private func withOptionalInputs<R>(_ ts: [Tensor]?, _ body: (UnsafePointer<synth_tensor>?) throws -> R) rethrows -> R {
    guard let ts else { return try body(nil) }
    return try withInputs(ts, shapes: ts.map(\.shape)) { try body($0) }
}
