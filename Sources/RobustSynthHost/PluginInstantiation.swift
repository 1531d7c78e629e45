import CFFIBridge
import Foundation
import RobustSynthCore
import SynthPluginABI

/// An error from a plugin, with the plugin's name.
public struct HostedPluginError: Error, CustomStringConvertible {
    public let plugin: String
    public let message: String
    public var description: String { "plugin '\(plugin)': \(message)" }
}

extension LoadedPlugin {
    /// Calls the plugin's create function through libffi with `values` as typed C arguments,
    /// in declaration order (synth_plugin.h says how each type is passed). The strings and
    /// lists it was given are returned with the context: they must live until the instance is
    /// destroyed (ABI 2), so the handle that destroys it frees them afterwards.
    func create(_ values: ParameterValues) throws -> (context: UnsafeMutableRawPointer, arguments: CreateArguments) {
        var kinds = [Int32]()
        var slots = [UnsafeMutableRawPointer]()
        let arguments = CreateArguments()
        var owned: [UnsafeMutableRawPointer] {
            get { arguments.buffers }
            set { arguments.buffers = newValue }
        }
        defer { for p in slots { free(p) } }

        func slot<T>(_ value: T) {
            let p = malloc(max(MemoryLayout<T>.size, 8))!
            p.storeBytes(of: value, as: T.self)
            slots.append(p)
        }
        func cString(_ s: String) -> UnsafeMutableRawPointer {
            let p = UnsafeMutableRawPointer(strdup(s)!)
            owned.append(p)
            return p
        }

        for decl in info.parameters {
            guard let value = values[decl.name] ?? decl.defaultValue else {
                throw HostedPluginError(plugin: info.name, message: "no value for parameter '\(decl.name)'")
            }
            switch (decl.type, value) {
            case (.bool, .bool(let b)): kinds.append(RS_FFI_SINT32); slot(Int32(b ? 1 : 0))
            case (.int, .int(let i)): kinds.append(RS_FFI_SINT64); slot(i)
            case (.double, .double(let d)): kinds.append(RS_FFI_DOUBLE); slot(d)
            case (.double, .int(let i)): kinds.append(RS_FFI_DOUBLE); slot(Double(i))
            case (.string, .string(let s)), (.path, .string(let s)):
                kinds.append(RS_FFI_POINTER); slot(cString(s))
            case (.list(let element), .list(let items)):
                let stride = element == .bool ? 4 : 8
                let buffer = malloc(max(items.count * stride, 8))!
                owned.append(buffer)
                for (i, item) in items.enumerated() {
                    switch (element, item) {
                    case (.bool, .bool(let b)): buffer.storeBytes(of: Int32(b ? 1 : 0), toByteOffset: i * 4, as: Int32.self)
                    case (.int, .int(let v)): buffer.storeBytes(of: v, toByteOffset: i * 8, as: Int64.self)
                    case (.double, .double(let v)): buffer.storeBytes(of: v, toByteOffset: i * 8, as: Double.self)
                    case (.double, .int(let v)): buffer.storeBytes(of: Double(v), toByteOffset: i * 8, as: Double.self)
                    case (.string, .string(let s)), (.path, .string(let s)):
                        buffer.storeBytes(of: cString(s), toByteOffset: i * 8, as: UnsafeMutableRawPointer.self)
                    default:
                        throw HostedPluginError(plugin: info.name, message: "item \(i + 1) of '\(decl.name)' is not a \(element)")
                    }
                }
                kinds.append(RS_FFI_POINTER); slot(buffer)
                kinds.append(RS_FFI_SINT64); slot(Int64(items.count))
            default:
                throw HostedPluginError(plugin: info.name, message: "parameter '\(decl.name)' must be a \(decl.type), got \(value.json)")
            }
        }

        var result: UnsafeMutableRawPointer?
        let status = kinds.withUnsafeBufferPointer { k in
            slots.withUnsafeMutableBufferPointer { s in
                s.withMemoryRebound(to: UnsafeMutableRawPointer?.self) { args in
                    PluginCallGuard.calling(self, "create") { rs_ffi_call_pointer(descriptor.create, k.baseAddress, Int32(k.count), args.baseAddress, &result) }
                }
            }
        }
        if status != 0 { throw HostedPluginError(plugin: info.name, message: "libffi cannot call its create function") }
        guard let context = result else {
            let message = descriptor.create_error?().map { String(cString: $0) } ?? "create failed without a message"
            throw HostedPluginError(plugin: info.name, message: message)
        }
        return (context, arguments)
    }
}

/// The strings and lists an instance was created with, freed after it is destroyed.
final class CreateArguments {
    var buffers: [UnsafeMutableRawPointer] = []
    deinit { for p in buffers { free(p) } }
}
