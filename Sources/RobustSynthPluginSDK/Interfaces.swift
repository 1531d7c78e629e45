import SynthPluginABI
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

// The per-kind vtables every Swift plugin exports. Each entry recovers the instance from the
// opaque context, copies the caller's buffers into tensors, calls the Swift protocol and copies
// the results back. Errors become a status plus a message; nothing unwinds into the host.

private func permanent<T>(_ value: T) -> UnsafePointer<T> {
    let p = UnsafeMutablePointer<T>.allocate(capacity: 1)
    p.initialize(to: value)
    return UnsafePointer(p)
}

private let lastErrorEntry: @convention(c) (UnsafeMutableRawPointer?) -> UnsafePointer<CChar>? = {
    InstanceBox.from($0).errorMessage
}
private let destroyEntry: @convention(c) (UnsafeMutableRawPointer?) -> Void = { InstanceBox.release($0) }

let classifierInterface: UnsafePointer<synth_classifier_iface> = {
    var i = synth_classifier_iface()
    i.struct_size = UInt32(MemoryLayout<synth_classifier_iface>.size)
    i.info = { ctx, out in
        let box = InstanceBox.from(ctx)
        let c = box.object as! Classifier
        out!.pointee = synth_classifier_info(channels: Int64(c.inputShape.channels), height: Int64(c.inputShape.height),
                                             width: Int64(c.inputShape.width), num_classes: Int64(c.numClasses))
        return SYNTH_OK
    }
    i.forward = { ctx, x, logits in
        let box = InstanceBox.from(ctx)
        return box.guarded {
            let out = try (box.object as! Classifier).forward(tensor(from: x!))
            try copy(out, into: logits!, what: "logits")
        }
    }
    i.input_gradient = { ctx, dlogits, dx in
        let box = InstanceBox.from(ctx)
        return box.guarded {
            let out = try (box.object as! Classifier).inputGradient(tensor(from: dlogits!))
            try copy(out, into: dx!, what: "input gradient")
        }
    }
    i.class_name = { ctx, index in
        let box = InstanceBox.from(ctx)
        if let s = box.cachedStrings[Int(index)] { return UnsafePointer(s) }
        guard let name = (box.object as! Classifier).className(Int(index)) else { return nil }
        let s = strdup(name)!
        box.cachedStrings[Int(index)] = s
        return UnsafePointer(s)
    }
    i.last_error = lastErrorEntry
    i.destroy = destroyEntry
    i.tap_count = { ctx in Int32((InstanceBox.from(ctx).object as! Classifier).taps.count) }
    i.tap_info = { ctx, index, name, shape in
        let box = InstanceBox.from(ctx)
        return box.guarded {
            let taps = (box.object as! Classifier).taps
            guard index >= 0, Int(index) < taps.count else { throw PluginError("no tap \(index) (\(taps.count) taps)") }
            let t = taps[Int(index)]
            guard t.shape.count <= 3 else { throw PluginError("tap '\(t.name)' has rank \(t.shape.count); at most 3 cross the ABI") }
            name!.pointee = box.keptString(t.name)
            shape!.pointee = describeShape(t.shape)
        }
    }
    i.forward_taps = { ctx, x, logits, ntaps, names, taps in
        let box = InstanceBox.from(ctx)
        return box.guarded {
            let wanted = (0..<Int(ntaps)).map { String(cString: names![$0]!) }
            let (out, values) = try (box.object as! Classifier).forward(tensor(from: x!), taps: wanted)
            try copy(out, into: logits!, what: "logits")
            for (k, v) in values.enumerated() { try copy(v, into: taps! + k, what: "tap '\(wanted[k])'") }
        }
    }
    i.input_gradient_taps = { ctx, dlogits, ntaps, dtaps, dx in
        let box = InstanceBox.from(ctx)
        return box.guarded {
            let grads: [Tensor?] = (0..<Int(ntaps)).map { k in dtaps![k].data == nil ? nil : tensor(from: dtaps! + k) }
            let out = try (box.object as! Classifier).inputGradient(tensor(from: dlogits!), tapGradients: grads)
            try copy(out, into: dx!, what: "input gradient")
        }
    }
    return permanent(i)
}()

/// A synth_tensor that carries only a shape (data NULL).
func describeShape(_ shape: [Int]) -> synth_tensor {
    var st = synth_tensor()
    st.rank = Int32(shape.count)
    withUnsafeMutableBytes(of: &st.shape) { raw in
        let dims = raw.bindMemory(to: Int64.self)
        for i in 0..<4 { dims[i] = i < shape.count ? Int64(shape[i]) : 1 }
    }
    return st
}

let seedSamplerInterface: UnsafePointer<synth_seed_sampler_iface> = {
    var i = synth_seed_sampler_iface()
    i.struct_size = UInt32(MemoryLayout<synth_seed_sampler_iface>.size)
    i.sample = { ctx, request, out, labels in
        let box = InstanceBox.from(ctx)
        return box.guarded {
            let r = request!.pointee
            let n = Int(r.n)
            let req = SeedRequest(
                classes: (0..<n).map { Int(r.classes[$0]) },
                seeds: (0..<n).map { r.seeds[$0] },
                items: r.items.map { items in (0..<n).map { Int(items[$0]) } })
            let dims = out!.pointee.dims
            guard dims.count == 4, dims[0] == n else {
                throw PluginError("seed buffer has shape \(dims), expected [\(n), C, H, W]")
            }
            let shape = ImageShape(channels: dims[1], height: dims[2], width: dims[3])
            let (images, got) = try (box.object as! SeedSampler).sample(req, shape: shape)
            try copy(images, into: out!, what: "seeds")
            if let labels {
                for k in 0..<n { labels[k] = Int64(got?[k] ?? -1) }
            }
        }
    }
    i.item_count = { ctx in Int64((InstanceBox.from(ctx).object as! SeedSampler).itemCount ?? -1) }
    i.item_labels = { ctx, out in
        let box = InstanceBox.from(ctx)
        return box.guarded {
            let s = box.object as! SeedSampler
            guard let labels = s.itemLabels else { throw PluginError("this source does not know the classes of its items") }
            for (k, l) in labels.enumerated() { out![k] = Int64(l) }
        }
    }
    i.last_error = lastErrorEntry
    i.destroy = destroyEntry
    return permanent(i)
}()

private func constraintBatch(_ b: UnsafePointer<synth_batch>) -> (ConstraintBatch, [Int]) {
    let s = [Int(b.pointee.n), Int(b.pointee.channels), Int(b.pointee.height), Int(b.pointee.width)]
    let mask = b.pointee.mask.map { tensor($0, shape: [s[0], 1, s[2], s[3]]) }
    return (ConstraintBatch(x0: tensor(b.pointee.x0, shape: s), mask: mask), s)
}

let constraintInterface: UnsafePointer<synth_constraint_iface> = {
    var i = synth_constraint_iface()
    i.struct_size = UInt32(MemoryLayout<synth_constraint_iface>.size)
    i.penalty = { ctx, batch, x, loss, dx in
        let box = InstanceBox.from(ctx)
        return box.guarded {
            let c = box.object as! Constraint
            guard c.hasPenalty else { return }
            let (b, shape) = constraintBatch(batch!)
            let n = shape[0]
            var l = Array(UnsafeBufferPointer(start: loss!, count: n))
            var g = tensor(dx!, shape: shape)
            try c.penalty(b, x: tensor(x!, shape: shape), loss: &l, gradient: &g)
            loss!.update(from: l, count: n)
            dx!.update(from: g.data, count: g.count)
        }
    }
    i.project = { ctx, batch, x in
        let box = InstanceBox.from(ctx)
        return box.guarded {
            let c = box.object as! Constraint
            guard c.hasProjection else { return }
            let (b, shape) = constraintBatch(batch!)
            var t = tensor(x!, shape: shape)
            try c.project(b, x: &t)
            x!.update(from: t.data, count: t.count)
        }
    }
    i.last_error = lastErrorEntry
    i.destroy = destroyEntry
    i.step = { ctx, batch, x, g, stepSize in
        let box = InstanceBox.from(ctx)
        return box.guarded {
            let (b, shape) = constraintBatch(batch!)
            var t = tensor(x!, shape: shape)
            try (box.object as! Constraint).step(b, x: &t, gradient: tensor(g!, shape: shape), stepSize: stepSize)
            x!.update(from: t.data, count: t.count)
        }
    }
    i.random_start = { ctx, batch, seeds, stepSize, x in
        let box = InstanceBox.from(ctx)
        return box.guarded {
            let c = box.object as! Constraint
            guard c.hasRandomStart else { throw PluginError("has no random start") }
            let (b, shape) = constraintBatch(batch!)
            var t = tensor(x!, shape: shape)
            try c.randomStart(b, x: &t, seeds: (0..<shape[0]).map { seeds![$0] }, stepSize: stepSize)
            x!.update(from: t.data, count: t.count)
        }
    }
    return permanent(i)
}()

let taskInterface: UnsafePointer<synth_task_iface> = {
    var i = synth_task_iface()
    i.struct_size = UInt32(MemoryLayout<synth_task_iface>.size)
    i.plan = { ctx, setup, count in
        let box = InstanceBox.from(ctx)
        return box.guarded {
            let s = setup!.pointee
            nonisolated(unsafe) let host = s.host
            let resolve = s.resolve_class!, suggest = s.suggest_class!, name = s.class_name!
            let taskSetup = TaskSetup(
                numClasses: Int(s.num_classes),
                inputShape: ImageShape(channels: Int(s.channels), height: Int(s.height), width: Int(s.width)),
                sourceItemCount: s.source_item_count < 0 ? nil : Int(s.source_item_count),
                sourceItemLabels: s.source_item_labels.map { l in (0..<Int(max(s.source_item_count, 0))).map { Int(l[$0]) } },
                resolveClass: { text in
                    let i = text.withCString { resolve(host, $0) }
                    return i < 0 ? nil : Int(i)
                },
                suggestClass: { text in text.withCString { suggest(host, $0) }.map { String(cString: $0) } },
                className: { index in name(host, Int64(index)).map { String(cString: $0) } ?? "class \(index)" },
                taps: setupTaps(setup!))
            box.plannedItems = try (box.object as! SynthesisTask).plan(taskSetup)
            count!.pointee = Int64(box.plannedItems.count)
        }
    }
    i.item = { ctx, index, out in
        let box = InstanceBox.from(ctx)
        return box.guarded {
            let items = box.plannedItems
            guard index >= 0, Int(index) < items.count else {
                throw PluginError("item \(index) asked for before plan() or out of range")
            }
            let t = items[Int(index)]
            out!.pointee = synth_task_item(seed_class: Int64(t.seedClass ?? -1), source_item: Int64(t.sourceItem ?? -1),
                                           target: Int64(t.target), group: Int64(t.group))
        }
    }
    i.prepare = { ctx, items, seeds, source, x0, mask in
        let box = InstanceBox.from(ctx)
        return box.guarded {
            let src = tensor(from: source!)
            let n = src.batch
            let (start, m) = try (box.object as! SynthesisTask).prepare(
                items: (0..<n).map { Int(items![$0]) }, seeds: (0..<n).map { seeds![$0] }, source: src)
            try copy(start, into: x0!, what: "x0")
            if let m, let mask { try copy(m, into: mask, what: "mask") }
        }
    }
    i.required_constraints = { ctx in
        let box = InstanceBox.from(ctx)
        if box.requiredConstraints == nil {
            box.requiredConstraints = permanentCStringArray((box.object as! SynthesisTask).requiredConstraints)
        }
        return box.requiredConstraints
    }
    i.defaults = { ctx, steps, stepSize in
        let t = InstanceBox.from(ctx).object as! SynthesisTask
        steps!.pointee = Int64(t.defaultSteps)
        stepSize!.pointee = t.defaultStepSize
        return SYNTH_OK
    }
    i.last_error = lastErrorEntry
    i.destroy = destroyEntry
    i.taps = { ctx in
        let box = InstanceBox.from(ctx)
        if box.taskTaps == nil { box.taskTaps = ownedCStringArray((box.object as! SynthesisTask).taps) }
        return box.taskTaps
    }
    i.objective = { ctx, input, output in
        let box = InstanceBox.from(ctx)
        return box.guarded {
            let inp = input!.pointee, out = output!.pointee
            let n = Int(inp.n)
            let x = tensor(from: inp.x!)
            let mask = inp.mask.map { tensor($0, shape: [n, 1, x.shape[2], x.shape[3]]) }
            let taps = (0..<Int(inp.ntaps)).map { tensor(from: inp.taps! + $0) }
            let sourceTaps = inp.source_taps.map { st in (0..<Int(inp.ntaps)).map { tensor(from: st + $0) } }
            let result = try (box.object as! SynthesisTask).objective(ObjectiveInput(
                items: (0..<n).map { Int(inp.items![$0]) }, targets: (0..<n).map { Int(inp.targets![$0]) },
                x: x, mask: mask, logits: tensor(from: inp.logits!), taps: taps, sourceTaps: sourceTaps))
            guard result.loss.count == n else { throw PluginError("the objective gave \(result.loss.count) losses for \(n) samples") }
            out.loss!.update(from: result.loss, count: n)
            if let d = result.dlogits { try copy(d, into: out.dlogits!, what: "d loss / d logits") }
            for (k, d) in result.dtaps.enumerated() where k < Int(inp.ntaps) {
                if let d { try copy(d, into: out.dtaps! + k, what: "d loss / d tap \(k)") }
            }
            if let d = result.dx { try copy(d, into: out.dx!, what: "d loss / d x") }
        }
    }
    return permanent(i)
}()

/// The classifier's taps from a task setup, where the host's struct has them (ABI 2).
private func setupTaps(_ setup: UnsafePointer<synth_task_setup>) -> [TapInfo] {
    let end = MemoryLayout<synth_task_setup>.offset(of: \synth_task_setup.struct_size)! + 4
    // An ABI 1 host's struct ends before struct_size: its bytes there are not ours to read.
    guard PluginHostABI.version >= 2 else { return [] }
    let s = setup.pointee
    guard Int(s.struct_size) >= end, s.tap_count > 0, let names = s.tap_names, let shapes = s.tap_shapes else { return [] }
    return (0..<Int(s.tap_count)).compactMap { i in
        guard let n = names[i] else { return nil }
        return TapInfo(name: String(cString: n), shape: shapes[i].dims)
    }
}
