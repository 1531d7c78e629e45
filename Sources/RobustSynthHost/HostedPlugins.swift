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

    init(_ plugin: LoadedPlugin, _ context: UnsafeMutableRawPointer,
         lastError: (@convention(c) (UnsafeMutableRawPointer?) -> UnsafePointer<CChar>?)?,
         destroy: (@convention(c) (UnsafeMutableRawPointer?) -> Void)?) {
        self.plugin = plugin; self.context = context; self.lastError = lastError; self.destroy = destroy
    }

    deinit { destroy?(context) }

    func check(_ status: synth_status) throws {
        guard status != SYNTH_OK else { return }
        let message = lastError?(context).map { String(cString: $0) } ?? "failed without a message"
        throw HostedPluginError(plugin: plugin.info.name, message: message)
    }
}

private func describe(_ shape: [Int], _ data: UnsafeMutablePointer<Float>?) -> synth_tensor {
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

    init(_ plugin: LoadedPlugin, context: UnsafeMutableRawPointer) throws {
        iface = plugin.descriptor.pointee.iface!.assumingMemoryBound(to: synth_classifier_iface.self).pointee
        handle = PluginHandle(plugin, context, lastError: iface.last_error, destroy: iface.destroy)
        var info = synth_classifier_info()
        try handle.check(iface.info!(context, &info))
        inputShape = ImageShape(channels: Int(info.channels), height: Int(info.height), width: Int(info.width))
        numClasses = Int(info.num_classes)
    }

    public func className(_ index: Int) -> String? {
        iface.class_name?(handle.context, Int64(index)).map { String(cString: $0) }
    }

    public func forward(_ x: Tensor) throws -> Tensor {
        var logits = Tensor(zeros: [x.batch, numClasses])
        try handle.check(withInput(x) { xt in withOutput(&logits) { iface.forward!(handle.context, xt, $0) } })
        return logits
    }

    public func inputGradient(_ dlogits: Tensor) throws -> Tensor {
        var dx = Tensor(zeros: [dlogits.batch, inputShape.channels, inputShape.height, inputShape.width])
        try handle.check(withInput(dlogits) { dt in withOutput(&dx) { iface.input_gradient!(handle.context, dt, $0) } })
        return dx
    }
}

public final class HostedSeedSampler: SeedSampler {
    let handle: PluginHandle
    let iface: synth_seed_sampler_iface
    var context: UnsafeMutableRawPointer { handle.context }

    init(_ plugin: LoadedPlugin, context: UnsafeMutableRawPointer) {
        iface = plugin.descriptor.pointee.iface!.assumingMemoryBound(to: synth_seed_sampler_iface.self).pointee
        handle = PluginHandle(plugin, context, lastError: iface.last_error, destroy: iface.destroy)
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
                    return withOutput(&out) { o in labels.withUnsafeMutableBufferPointer { iface.sample!(context, &r, o, $0.baseAddress) } }
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

    init(_ plugin: LoadedPlugin, context: UnsafeMutableRawPointer) {
        iface = plugin.descriptor.pointee.iface!.assumingMemoryBound(to: synth_constraint_iface.self).pointee
        handle = PluginHandle(plugin, context, lastError: iface.last_error, destroy: iface.destroy)
    }

    public var name: String { handle.plugin.info.name }
    public var hasPenalty: Bool { iface.penalty != nil }
    public var hasProjection: Bool { iface.project != nil }

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
                    gradient.data.withUnsafeMutableBufferPointer { g in f(context, b, xs.baseAddress, l.baseAddress, g.baseAddress) }
                }
            }
        }
        try handle.check(status)
    }

    public func project(_ batch: ConstraintBatch, x: inout Tensor) throws {
        guard let f = iface.project else { return }
        let status = withBatch(batch) { b in x.data.withUnsafeMutableBufferPointer { f(context, b, $0.baseAddress) } }
        try handle.check(status)
    }
}

public final class HostedTask: SynthesisTask {
    let handle: PluginHandle
    let iface: synth_task_iface
    public let defaultSteps: Int
    public let defaultStepSize: Double
    var context: UnsafeMutableRawPointer { handle.context }

    init(_ plugin: LoadedPlugin, context: UnsafeMutableRawPointer) {
        iface = plugin.descriptor.pointee.iface!.assumingMemoryBound(to: synth_task_iface.self).pointee
        handle = PluginHandle(plugin, context, lastError: iface.last_error, destroy: iface.destroy)
        // The paper's defaults when the task gives none (generation's: 60 steps of 1).
        var steps: Int64 = 60, size = 1.0
        if let f = iface.defaults, f(context, &steps, &size) != SYNTH_OK { (steps, size) = (60, 1) }
        defaultSteps = Int(steps)
        defaultStepSize = size
    }

    /// What the task's callbacks reach through `host`.
    private final class SetupBox {
        let setup: TaskSetup
        var strings: [UnsafeMutablePointer<CChar>] = []
        init(_ setup: TaskSetup) { self.setup = setup }
        deinit { for s in strings { free(s) } }
        func keep(_ s: String) -> UnsafePointer<CChar> {
            let p = strdup(s)!
            strings.append(p)
            return UnsafePointer(p)
        }
    }

    public func plan(_ setup: TaskSetup) throws -> [TaskItem] {
        let box = SetupBox(setup)
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
        var count: Int64 = 0
        try withExtendedLifetime(box) {
            try (labels ?? []).withUnsafeBufferPointer { l in
                s.source_item_labels = labels == nil ? nil : l.baseAddress
                try handle.check(iface.plan!(context, &s, &count))
            }
        }
        var items = [TaskItem]()
        for i in 0..<count {
            var t = synth_task_item()
            try handle.check(iface.item!(context, i, &t))
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
                    iface.prepare!(context, i.baseAddress, s.baseAddress, st, xt, mt)
                } } }
            }
        }
        try handle.check(status)
        return (x0, mask.data.contains { $0 != 0 } ? mask : nil)
    }

    public var requiredConstraints: [String] {
        guard let f = iface.required_constraints, let list = f(context) else { return [] }
        var names = [String]()
        var i = 0
        while let s = list[i] { names.append(String(cString: s)); i += 1 }
        return names
    }

}
