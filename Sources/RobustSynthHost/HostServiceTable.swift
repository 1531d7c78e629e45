import Foundation
import SynthPluginABI

/// The synth_host_services each plugin library receives (one table per plugin, so that a line
/// it logs carries its name). Tables live for the process, as the header promises.
public enum HostServiceTable {
    /// Where a plugin's log lines go (default: standard error, "rsynth: plugin 'x': ...").
    nonisolated(unsafe) public static var onLog: (String, String, Bool) -> Void = { plugin, message, warning in
        FileHandle.standardError.write(Data("rsynth: \(warning ? "warning: " : "")plugin '\(plugin)': \(message)\n".utf8))
    }
    /// Where a plugin's progress goes (default: nowhere; the run's progress bar when one is shown).
    nonisolated(unsafe) public static var onProgress: (String, Double, String) -> Void = { _, _, _ in }

    private final class Owner {
        let plugin: String
        init(_ plugin: String) { self.plugin = plugin }
    }
    nonisolated(unsafe) private static var tables: [String: UnsafePointer<synth_host_services>] = [:]
    private static let lock = NSLock()

    static func shared(for plugin: String) -> UnsafePointer<synth_host_services> {
        lock.lock(); defer { lock.unlock() }
        if let t = tables[plugin] { return t }
        var s = synth_host_services()
        s.struct_size = UInt32(MemoryLayout<synth_host_services>.size)
        s.host = Unmanaged.passRetained(Owner(plugin)).toOpaque()   // never released: lives for the process
        s.log = { host, level, message in
            guard let host, let message else { return }
            let owner = Unmanaged<Owner>.fromOpaque(host).takeUnretainedValue()
            HostServiceTable.onLog(owner.plugin, String(cString: message), level == SYNTH_LOG_WARNING)
        }
        s.progress = { host, fraction, what in
            guard let host else { return }
            let owner = Unmanaged<Owner>.fromOpaque(host).takeUnretainedValue()
            HostServiceTable.onProgress(owner.plugin, fraction.isFinite ? min(max(fraction, 0), 1) : 0,
                                        what.map { String(cString: $0) } ?? "")
        }
        s.cancelled = { _ in Interruption.isRequested ? 1 : 0 }
        let p = UnsafeMutablePointer<synth_host_services>.allocate(capacity: 1)
        p.initialize(to: s)
        tables[plugin] = UnsafePointer(p)
        return UnsafePointer(p)
    }
}
