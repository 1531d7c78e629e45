import Foundation
import SynthPluginABI

/// Which plugin call is in progress, for a crash during a run: `install` sets handlers for the
/// signals of a crash (SIGSEGV, SIGBUS, SIGILL, SIGFPE, SIGABRT) that, while a plugin call is in
/// progress, write one line naming the plugin and the call and end the process with status 1.
/// The run's files are written atomically and never during a plugin call, so the samples already
/// written stay and the same command resumes. Outside a plugin call the handler restores the
/// previous one and re-raises, so a crash of the host itself is reported as before.
public enum PluginCallGuard {
    // Two stores around each call: the plugin's name (its descriptor's, which lives as long as
    // the library, never unloaded) and the call's name (a static string).
    nonisolated(unsafe) static var plugin: UnsafePointer<CChar>? = nil
    nonisolated(unsafe) static var call: UnsafePointer<UInt8>? = nil
    nonisolated(unsafe) static var resume: UnsafeMutablePointer<CChar>? = nil
    nonisolated(unsafe) static var previous: UnsafeMutablePointer<sigaction> = {
        let p = UnsafeMutablePointer<sigaction>.allocate(capacity: 65)
        p.initialize(repeating: sigaction(), count: 65)
        return p
    }()

    static let signals: [Int32] = [SIGSEGV, SIGBUS, SIGILL, SIGFPE, SIGABRT]

    /// Runs `body`, a call into `plugin`, as the call in progress.
    @inline(__always)
    static func calling<R>(_ plugin: LoadedPlugin, _ call: StaticString, _ body: () throws -> R) rethrows -> R {
        let (p, c) = (Self.plugin, Self.call)
        Self.plugin = plugin.descriptor.name
        Self.call = call.utf8Start
        defer { Self.plugin = p; Self.call = c }
        return try body()
    }

    /// Installs the handlers; `resumeHint` ends the line (e.g. where the run folder is).
    public static func install(resumeHint: String) {
        resume = strdup(resumeHint)
        for s in signals {
            var action = sigaction()
            action.__sigaction_handler.sa_handler = { signal in PluginCallGuard.crashed(signal) }
            sigemptyset(&action.sa_mask)
            action.sa_flags = 0
            sigaction(s, &action, previous + Int(s))
        }
    }

    static func crashed(_ signal: Int32) {
        guard let plugin, let call else {
            sigaction(signal, previous + Int(signal), nil)
            raise(signal)   // delivered once this handler returns, to the previous handler
            return
        }
        func say(_ p: UnsafePointer<CChar>?) {
            guard let p else { return }
            _ = write(2, p, strlen(p))
        }
        func say(_ s: StaticString) { _ = write(2, s.utf8Start, s.utf8CodeUnitCount) }
        say("rsynth: error: plugin '")
        say(plugin)
        say("' crashed with ")
        switch signal {
        case SIGSEGV: say("SIGSEGV")
        case SIGBUS: say("SIGBUS")
        case SIGILL: say("SIGILL")
        case SIGFPE: say("SIGFPE")
        default: say("SIGABRT")
        }
        say(" in its ")
        call.withMemoryRebound(to: CChar.self, capacity: 1) { say($0) }
        say(" call; ")
        say(resume)
        say("\n")
        _exit(1)
    }
}
