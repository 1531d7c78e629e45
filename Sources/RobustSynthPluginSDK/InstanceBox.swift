import RobustSynthCore
import SynthPluginABI
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The context pointer a Swift plugin hands the host: the instance plus the storage for the
/// message of its last failure (owned here until the next call, as the ABI says).
final class InstanceBox {
    let object: AnyObject
    private var lastError: UnsafeMutablePointer<CChar>?
    var cachedStrings: [Int: UnsafeMutablePointer<CChar>] = [:]
    var requiredConstraints: UnsafePointer<UnsafePointer<CChar>?>?
    /// A task's taps() list, freed with the instance.
    var taskTaps: UnsafePointer<UnsafePointer<CChar>?>?
    /// Strings handed out until destroy (tap names).
    private var kept: [String: UnsafeMutablePointer<CChar>] = [:]
    /// A task's items from its last plan(), for item(index).
    var plannedItems: [TaskItem] = []

    init(_ object: AnyObject) { self.object = object }

    deinit {
        free(lastError)
        for (_, s) in cachedStrings { free(s) }
        for list in [requiredConstraints, taskTaps] {   // one instance's lists, unlike the permanent declarations
            guard let names = list else { continue }
            var i = 0
            while let s = names[i] { free(UnsafeMutableRawPointer(mutating: s)); i += 1 }
            names.deallocate()
        }
        for (_, s) in kept { free(s) }
    }

    /// A C copy of `s` that lives as long as the instance.
    func keptString(_ s: String) -> UnsafePointer<CChar> {
        if let p = kept[s] { return UnsafePointer(p) }
        let p = strdup(s)!
        kept[s] = p
        return UnsafePointer(p)
    }

    var errorMessage: UnsafePointer<CChar>? { lastError.map { UnsafePointer($0) } }

    func fail(_ error: Error) -> synth_status {
        free(lastError)
        lastError = strdup(String(describing: error))
        return SYNTH_ERROR
    }

    /// Runs `body`, turning a thrown error into a status and a stored message.
    func guarded(_ body: () throws -> Void) -> synth_status {
        do { try body(); return SYNTH_OK } catch { return fail(error) }
    }

    static func from(_ context: UnsafeMutableRawPointer?) -> InstanceBox {
        Unmanaged<InstanceBox>.fromOpaque(context!).takeUnretainedValue()
    }

    static func release(_ context: UnsafeMutableRawPointer?) {
        guard let context else { return }
        Unmanaged<InstanceBox>.fromOpaque(context).release()
    }
}
