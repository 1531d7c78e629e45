import Foundation

/// A data-only interpreter of pickle protocols 0-5. It never imports or calls anything: the few
/// callables a PyTorch state dict needs (`collections.OrderedDict`, `torch._utils._rebuild_tensor_v2`,
/// `_rebuild_parameter`) are recognised by name and *recorded*; every other global is an inert
/// `.global` value, and calling or instantiating one yields an inert `.opaque` placeholder. Globals
/// whose only purpose is running code (os.system, builtins.eval, ...) are refused outright so the
/// user learns the file is hostile instead of getting a puzzling "no state dict" error.
struct Unpickler {
    static let maxDepth = 1000
    /// Memory bounds. Each opcode creates at most one value, so without them a pickle's memory
    /// grows with its length at tens of bytes per byte (10 MB of DUP took 1.3 GB). PyTorch's own
    /// pickles keep a few thousand values on the stack (SETITEMS batches of 1000) and one memo
    /// entry per object (tens of thousands for the largest models); these limits are far above
    /// that and keep a hostile pickle within a few hundred MB however long it is.
    static let maxStack = 1 << 20
    static let maxMemo = 1 << 18
    static let maxItems = 1 << 21

    /// Items put into lists, tuples and dicts so far (a reference, so non-mutating helpers count too).
    private final class Budget { var items = 0 }
    private let budget = Budget()

    private let r: ByteReader
    private(set) var position: Int
    private let context: String
    private let persistentLoad: (PickleValue) throws -> PickleValue
    private var stack: [PickleValue] = []
    private var marks: [Int] = []
    private var memo: [Int: PickleValue] = [:]

    /// - Parameters:
    ///   - context: names the pickle in error messages, e.g. "data.pkl".
    ///   - persistentLoad: maps a persistent id (PyTorch's storage tuples) to a value.
    init(_ r: ByteReader, at position: Int, context: String,
         persistentLoad: @escaping (PickleValue) throws -> PickleValue) {
        self.r = r
        self.position = position
        self.context = context
        self.persistentLoad = persistentLoad
    }

    /// Runs until STOP and returns the pickled object; `position` is then just past the STOP.
    mutating func load() throws -> PickleValue {
        stack = []; marks = []; memo = [:]
        let ctx = context // captured by fail() below; capturing self would overlap with mutations
        budget.items = 0
        while true {
            let at = position
            let op = try r.u8(position, "\(context): the next opcode")
            position += 1
            func fail(_ problem: String) -> FormatError {
                FormatError("corrupt pickle in \(ctx): \(problem) (opcode 0x\(String(op, radix: 16)) at byte \(at))")
            }
            // One value per opcode at most, so checking before each one keeps within the bounds.
            if stack.count + marks.count >= Self.maxStack || memo.count >= Self.maxMemo || budget.items > Self.maxItems {
                let what = stack.count + marks.count >= Self.maxStack ? "more than \(Self.maxStack) values on its stack"
                    : memo.count >= Self.maxMemo ? "more than \(Self.maxMemo) memo entries"
                    : "more than \(Self.maxItems) items in its containers"
                throw FormatError("refusing to load: \(ctx) builds \(what) (at byte \(at)), far more than any checkpoint needs")
            }
            switch op {
            case 0x80: // PROTO
                let v = try readUInt(1)
                guard v <= 5 else { throw fail("unsupported pickle protocol \(v)") }
            case 0x95: _ = try readUInt(8) // FRAME: framing is irrelevant when all bytes are at hand
            case 0x2e: // STOP
                return try pop(fail)

            case 0x28: marks.append(stack.count) // MARK
            case 0x30: _ = try pop(fail) // POP
            case 0x31: _ = try popMark(fail) // POP_MARK
            case 0x32: let v = try top(fail); stack.append(v) // DUP

            case 0x4e: stack.append(.none)
            case 0x88: stack.append(.bool(true))
            case 0x89: stack.append(.bool(false))
            case 0x49: // INT (text); "00"/"01" are protocol 0's bools
                let s = try readLine()
                if s == "00" { stack.append(.bool(false)) } else if s == "01" { stack.append(.bool(true)) }
                else if let v = Int64(s) { stack.append(.int(v)) } else { throw fail("bad INT '\(s.prefix(40))'") }
            case 0x4a: let v: PickleValue = .int(Int64(Int32(truncatingIfNeeded: try readUInt(4)))); stack.append(v)
            case 0x4b: let v: PickleValue = .int(Int64(try readUInt(1))); stack.append(v)
            case 0x4d: let v: PickleValue = .int(Int64(try readUInt(2))); stack.append(v)
            case 0x4c: // LONG (text)
                var s = try readLine()
                if s.hasSuffix("L") { s.removeLast() }
                stack.append(Int64(s).map { .int($0) } ?? .opaque("a big integer"))
            case 0x8a: let v = long(try readBytes(try readUInt(1))); stack.append(v)
            case 0x8b:
                let n = Int32(truncatingIfNeeded: try readUInt(4))
                guard n >= 0 else { throw fail("negative LONG4 length") }
                let v = long(try readBytes(Int(n))); stack.append(v)
            case 0x46: // FLOAT (text)
                let s = try readLine()
                guard let v = Double(s) else { throw fail("bad FLOAT '\(s.prefix(40))'") }
                stack.append(.float(v))
            case 0x47: // BINFLOAT: big-endian double
                var bits: UInt64 = 0
                for b in try readBytes(8) { bits = bits << 8 | UInt64(b) }
                stack.append(.float(Double(bitPattern: bits)))

            case 0x53: // STRING (text, quoted repr): keep the text between the quotes
                var s = try readLine()
                if s.count >= 2, let q = s.first, q == "'" || q == "\"", s.last == q { s = String(s.dropFirst().dropLast()) }
                stack.append(.string(s))
            case 0x56: let v: PickleValue = .string(Self.rawUnicodeEscape(try readLineBytes())); stack.append(v) // UNICODE
            case 0x54: // BINSTRING
                let n = Int32(truncatingIfNeeded: try readUInt(4))
                guard n >= 0 else { throw fail("negative BINSTRING length") }
                let v: PickleValue = .string(String(decoding: try readBytes(Int(n)), as: UTF8.self)); stack.append(v)
            // Length-prefixed strings and bytes: SHORT_BINSTRING, SHORT_BINUNICODE (1-byte length),
            // BINUNICODE (4), BINUNICODE8 (8); SHORT_BINBYTES, BINBYTES, BINBYTES8 / BYTEARRAY8.
            case 0x55, 0x8c: stack.append(.string(try readText(lengthBytes: 1)))
            case 0x58: stack.append(.string(try readText(lengthBytes: 4)))
            case 0x8d: stack.append(.string(try readText(lengthBytes: 8)))
            case 0x43: stack.append(.bytes(try readBytes(try readUInt(1))))
            case 0x42: stack.append(.bytes(try readBytes(try readUInt(4))))
            case 0x8e, 0x96: stack.append(.bytes(try readBytes(try readUInt(8))))
            case 0x97: throw fail("out-of-band buffers (NEXT_BUFFER) are not supported")
            case 0x98: _ = try top(fail) // READONLY_BUFFER: a no-op on plain data

            case 0x29: stack.append(.tuple(PickleTuple([])))
            case 0x74: let v = try tuple(try popMark(fail), fail); stack.append(v)
            case 0x85, 0x86, 0x87: // TUPLE1..3
                let n = Int(op) - 0x84
                guard stack.count - (marks.last ?? 0) >= n else { throw fail("stack underflow") }
                let items = Array(stack.suffix(n))
                stack.removeLast(n)
                let v = try tuple(items, fail); stack.append(v)

            case 0x5d, 0x8f: stack.append(.list(PickleList())) // EMPTY_LIST, EMPTY_SET
            case 0x6c, 0x91: // LIST, FROZENSET
                let list = PickleList()
                try append(try popMark(fail), to: .list(list), fail)
                stack.append(.list(list))
            case 0x61: // APPEND
                let v = try pop(fail)
                try append([v], to: try top(fail), fail)
            case 0x65, 0x90: // APPENDS, ADDITEMS
                let items = try popMark(fail)
                try append(items, to: try top(fail), fail)

            case 0x7d: stack.append(.dict(PickleDict()))
            case 0x64: // DICT
                let dict = PickleDict()
                try setItems(try popMark(fail), in: .dict(dict), fail)
                stack.append(.dict(dict))
            case 0x73: // SETITEM
                let v = try pop(fail), k = try pop(fail)
                try setItems([k, v], in: try top(fail), fail)
            case 0x75: // SETITEMS
                let items = try popMark(fail)
                try setItems(items, in: try top(fail), fail)

            case 0x63: // GLOBAL
                let module = try readLine(), name = try readLine()
                let v = try global(module, name); stack.append(v)
            case 0x93: // STACK_GLOBAL
                let name = try pop(fail), module = try pop(fail)
                guard let m = module.asString, let n = name.asString else { throw fail("STACK_GLOBAL needs two strings") }
                let v = try global(m, n); stack.append(v)
            case 0x82: let v: PickleValue = .opaque("an object from the extension registry (code \(try readUInt(1)))"); stack.append(v)
            case 0x83: let v: PickleValue = .opaque("an object from the extension registry (code \(try readUInt(2)))"); stack.append(v)
            case 0x84: let v: PickleValue = .opaque("an object from the extension registry (code \(try readUInt(4)))"); stack.append(v)

            case 0x52: // REDUCE
                let args = try pop(fail), callable = try pop(fail)
                let v = try call(callable, args, fail); stack.append(v)
            case 0x81: // NEWOBJ
                let args = try pop(fail), cls = try pop(fail)
                stack.append(instantiate(cls, args))
            case 0x92: // NEWOBJ_EX
                _ = try pop(fail)
                let args = try pop(fail), cls = try pop(fail)
                stack.append(instantiate(cls, args))
            case 0x69: // INST (protocol 0)
                let module = try readLine(), name = try readLine()
                let cls = try global(module, name)
                let v = instantiate(cls, .tuple(PickleTuple(try popMark(fail)))); stack.append(v)
            case 0x6f: // OBJ (protocol 1)
                var items = try popMark(fail)
                guard !items.isEmpty else { throw fail("OBJ without a class") }
                let cls = items.removeFirst()
                stack.append(instantiate(cls, .tuple(PickleTuple(items))))
            case 0x62: // BUILD: state is only ever metadata here (OrderedDict._metadata); drop it
                _ = try pop(fail)
                _ = try top(fail)

            case 0x50: let v = try persistentLoad(.string(try readLine())); stack.append(v) // PERSID
            case 0x51: let v = try persistentLoad(try pop(fail)); stack.append(v) // BINPERSID

            case 0x67: let v = try memoGet(try readLineInt(fail), fail); stack.append(v) // GET
            case 0x68: let v = try memoGet(try readUInt(1), fail); stack.append(v) // BINGET
            case 0x6a: let v = try memoGet(try readUInt(4), fail); stack.append(v) // LONG_BINGET
            case 0x70: let k = try readLineInt(fail); memo[k] = try top(fail) // PUT
            case 0x71: let k = try readUInt(1); memo[k] = try top(fail) // BINPUT
            case 0x72: let k = try readUInt(4); memo[k] = try top(fail) // LONG_BINPUT
            case 0x94: let k = memo.count; memo[k] = try top(fail) // MEMOIZE

            default:
                throw FormatError("unknown pickle opcode 0x\(String(op, radix: 16)) at byte \(at) of \(context)")
            }
        }
    }

    // MARK: globals and calls

    /// Modules and builtins that exist to run code, load code or touch the system. Naming one is
    /// refused: nothing would be executed anyway, but a checkpoint has no business asking.
    /// Not on the list, because training checkpoints pickled with dill hold them legitimately
    /// (a lambda or closure in the saved arguments or LR schedule is rebuilt with
    /// dill._dill._create_function / _create_code / _create_cell, builtins getattr and setattr,
    /// and `types`): they become inert placeholders like every other unknown global.
    private static let codeModules: Set<String> = [
        "os", "posix", "nt", "subprocess", "_posixsubprocess", "sys", "runpy", "importlib", "shutil",
        "socket", "pty", "code", "codeop", "webbrowser", "ctypes", "pickle", "_pickle", "marshal",
        "commands", "multiprocessing", "asyncio", "pdb", "timeit", "signal",
    ]
    private static let codeBuiltins: Set<String> = [
        "eval", "exec", "execfile", "compile", "__import__", "open",
        "globals", "locals", "vars", "breakpoint", "input", "apply", "exit", "quit", "help", "file",
    ]

    private func global(_ module: String, _ name: String) throws -> PickleValue {
        let root = module.split(separator: ".").first.map(String.init) ?? module
        if Self.codeModules.contains(root)
            || ((module == "builtins" || module == "__builtin__") && Self.codeBuiltins.contains(name)) {
            throw FormatError("refusing to load: \(context) asks for \(module).\(name), which can run code; nothing was executed")
        }
        return .global(module: module, name: name)
    }

    private func call(_ callable: PickleValue, _ args: PickleValue, _ fail: (String) -> FormatError) throws -> PickleValue {
        guard case .global(let module, let name) = callable else {
            return .opaque("the result of calling \(callable.kind)")
        }
        let items = args.asTupleItems ?? []
        switch (module, name) {
        case ("collections", "OrderedDict"):
            let dict = PickleDict()
            if let pairs = items.first?.asTupleItems {  // OrderedDict([(k, v), ...])
                for pair in pairs {
                    guard let kv = pair.asTupleItems, kv.count == 2 else { throw fail("OrderedDict expects pairs") }
                    try setItems(kv, in: .dict(dict), fail)
                }
            }
            return .dict(dict)
        case ("torch._utils", "_rebuild_tensor_v2"), ("torch._utils", "_rebuild_tensor"):
            return .tensor(try rebuildTensor(items, name, fail))
        case ("torch._utils", "_rebuild_parameter"), ("torch._utils", "_rebuild_parameter_with_state"):
            if let data = items.first, case .tensor = data { return data }
            return .opaque("a parameter of unknown contents")
        default:
            return .opaque("an object made by \(module).\(name)")
        }
    }

    private func instantiate(_ cls: PickleValue, _ args: PickleValue) -> PickleValue {
        if case .global("collections", "OrderedDict") = cls { return .dict(PickleDict()) }
        if case .global(let module, let name) = cls { return .opaque("an object of class \(module).\(name)") }
        return .opaque("an instance of \(cls.kind)")
    }

    /// `_rebuild_tensor_v2(storage, storage_offset, size, stride, requires_grad, hooks[, metadata])`.
    private func rebuildTensor(_ a: [PickleValue], _ name: String, _ fail: (String) -> FormatError) throws -> TensorRecord {
        guard a.count >= 4, case .storage(let storage) = a[0] else {
            throw fail("\(name) called without a storage and geometry")
        }
        guard let offset = a[1].asInt, offset >= 0,
              let shapeItems = a[2].asTupleItems, let strideItems = a[3].asTupleItems,
              shapeItems.count == strideItems.count else {
            throw fail("\(name) called with a malformed offset, size or stride")
        }
        let shape = shapeItems.compactMap(\.asInt), strides = strideItems.compactMap(\.asInt)
        guard shape.count == shapeItems.count, strides.count == strideItems.count,
              shape.allSatisfy({ $0 >= 0 }), strides.allSatisfy({ $0 >= 0 }) else {
            throw fail("\(name) called with negative or non-integer sizes or strides")
        }
        return TensorRecord(storage: storage, storageOffset: offset, shape: shape, strides: strides)
    }

    // MARK: containers

    private func tuple(_ items: [PickleValue], _ fail: (String) -> FormatError) throws -> PickleValue {
        budget.items += items.count
        for item in items { try nest(item, fail) }
        return .tuple(PickleTuple(items))
    }

    /// Marks a value as nested inside another container: it is frozen and must not be too deep.
    private func nest(_ v: PickleValue, _ fail: (String) -> FormatError) throws {
        guard v.depth < Self.maxDepth else { throw fail("containers nested more than \(Self.maxDepth) deep") }
        if case .list(let l) = v { l.frozen = true }
        if case .dict(let d) = v { d.frozen = true }
    }

    private func append(_ items: [PickleValue], to target: PickleValue, _ fail: (String) -> FormatError) throws {
        switch target {
        case .list(let list):
            guard !list.frozen else { throw fail("a list is changed after being nested (unsupported)") }
            budget.items += items.count
            for item in items {
                try nest(item, fail)
                // Only the list itself, among its own items, can have frozen it: a list inside
                // itself is a reference cycle (never freed), and no state dict has one.
                guard !list.frozen else { throw fail("a list contains itself (unsupported)") }
                list.items.append(item)
                list.depth = max(list.depth, item.depth + 1)
            }
        case .opaque: break // Python would call the object's append(); an inert placeholder ignores it
        default: throw fail("APPEND to \(target.kind)")
        }
    }

    private func setItems(_ items: [PickleValue], in target: PickleValue, _ fail: (String) -> FormatError) throws {
        guard items.count % 2 == 0 else { throw fail("odd number of items for a dict") }
        switch target {
        case .dict(let dict):
            guard !dict.frozen else { throw fail("a dict is changed after being nested (unsupported)") }
            budget.items += items.count
            for i in stride(from: 0, to: items.count, by: 2) {
                try nest(items[i], fail)
                try nest(items[i + 1], fail)
                // As for lists: the dict as its own key or value would be a reference cycle.
                guard !dict.frozen else { throw fail("a dict contains itself (unsupported)") }
                dict.set(items[i], items[i + 1])
            }
        case .opaque: break
        default: throw fail("SETITEM on \(target.kind)")
        }
    }

    // MARK: stack, memo, bytes

    private mutating func pop(_ fail: (String) -> FormatError) throws -> PickleValue {
        guard stack.count > (marks.last ?? 0) || (marks.isEmpty && !stack.isEmpty) else { throw fail("stack underflow") }
        return stack.removeLast()
    }

    private func top(_ fail: (String) -> FormatError) throws -> PickleValue {
        guard let v = stack.last, stack.count > (marks.last ?? 0) || marks.isEmpty else { throw fail("stack underflow") }
        return v
    }

    private mutating func popMark(_ fail: (String) -> FormatError) throws -> [PickleValue] {
        guard let m = marks.popLast() else { throw fail("no MARK on the stack") }
        let items = Array(stack[m...])
        stack.removeSubrange(m...)
        return items
    }

    private func memoGet(_ key: Int, _ fail: (String) -> FormatError) throws -> PickleValue {
        guard let v = memo[key] else { throw fail("memo key \(key) is not set") }
        return v
    }

    private mutating func readUInt(_ size: Int) throws -> Int {
        let v = try r.uint(position, size: size, "\(context): an opcode argument")
        guard let i = Int(exactly: v) else {
            throw FormatError("corrupt pickle in \(context): argument \(v) at byte \(position) is too large")
        }
        position += size
        return i
    }

    /// A UTF-8 string after a little-endian length of `lengthBytes` bytes.
    private mutating func readText(lengthBytes: Int) throws -> String {
        String(decoding: try readBytes(try readUInt(lengthBytes)), as: UTF8.self)
    }

    private mutating func readBytes(_ n: Int) throws -> [UInt8] {
        try r.check(position, n, "\(context): a pickled string or number")
        let out = [UInt8](r.data[position..<(position + n)])
        position += n
        return out
    }

    private mutating func readLineBytes() throws -> Data {
        guard position < r.count, let nl = r.data[position...].firstIndex(of: 0x0a) else {
            throw FormatError("truncated or corrupt file: \(context) ends inside a text line at byte \(position)")
        }
        let line = r.data[position..<nl]
        position = nl + 1
        return line
    }

    private mutating func readLine() throws -> String {
        String(decoding: try readLineBytes(), as: UTF8.self)
    }

    /// Protocol 0's UNICODE argument: Latin-1 bytes with \uXXXX and \UXXXXXXXX escapes.
    static func rawUnicodeEscape(_ bytes: Data) -> String {
        let b = [UInt8](bytes)
        var out = String.UnicodeScalarView()
        var i = 0
        while i < b.count {
            if b[i] == UInt8(ascii: "\\"), i + 1 < b.count, b[i + 1] == UInt8(ascii: "u") || b[i + 1] == UInt8(ascii: "U") {
                let digits = b[i + 1] == UInt8(ascii: "u") ? 4 : 8
                if i + 2 + digits <= b.count,
                   let code = UInt32(String(decoding: b[(i + 2)..<(i + 2 + digits)], as: UTF8.self), radix: 16),
                   let scalar = Unicode.Scalar(code) {
                    out.append(scalar)
                    i += 2 + digits
                    continue
                }
            }
            out.append(Unicode.Scalar(b[i]))
            i += 1
        }
        return String(out)
    }

    private mutating func readLineInt(_ fail: (String) -> FormatError) throws -> Int {
        let s = try readLine()
        guard let v = Int(s) else { throw fail("bad memo index '\(s.prefix(40))'") }
        return v
    }

    /// LONG1/LONG4 payloads: little-endian two's complement of any length.
    private func long(_ bytes: [UInt8]) -> PickleValue {
        guard bytes.count <= 8 else { return .bigInt(bytes) }
        guard !bytes.isEmpty else { return .int(0) }
        var v: UInt64 = bytes.last! & 0x80 != 0 ? ~0 : 0
        for b in bytes.reversed() { v = v << 8 | UInt64(b) }
        return .int(Int64(bitPattern: v))
    }
}
