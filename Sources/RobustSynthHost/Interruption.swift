import Foundation

/// Ctrl-C during a run: the first one asks the run to stop after the file it is writing, so the
/// folder stays resumable; a second one ends the process at once.
public enum Interruption {
    nonisolated(unsafe) static var requested: sig_atomic_t = 0

    public static func install() {
        // A parent may have started us with SIGINT blocked (rsynth studio's server threads
        // block most signals, and children inherit the mask): unblock it, or Ctrl-C and the
        // studio's Cancel would never arrive.
        var set = sigset_t()
        sigemptyset(&set)
        sigaddset(&set, SIGINT)
        pthread_sigmask(SIG_UNBLOCK, &set, nil)
        signal(SIGINT) { _ in
            if Interruption.requested != 0 { _exit(130) }
            Interruption.requested = 1
        }
    }

    public static var isRequested: Bool { requested != 0 }
}

public struct RunInterrupted: Error, CustomStringConvertible {
    public let done: Int
    public let total: Int
    public var description: String { "interrupted after \(done) of \(total) samples; run the same command again to resume" }
}
