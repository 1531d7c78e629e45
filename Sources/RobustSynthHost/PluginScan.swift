import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// What vetting a library in a child process found.
public enum ScanResult: Equatable, Sendable {
    /// Opened, its entry answered and its descriptor reads as PluginLoader.load reads it.
    case ok
    /// Refused (the reason PluginLoader.load would give), or the child crashed or hung in it.
    case failed(String)
}

/// Vets plugin libraries in a child process before the host opens them, so that a library that
/// crashes or hangs in its static constructors or in `synth_plugin_entry` is reported as a load
/// failure instead of taking the command down. The child is this executable run as
/// `EXE __scan-plugins LIB...`; it prints "begin LIB" before each library and "ok LIB" or
/// "failed LIB: reason" after it. A child that dies or stops answering names the library it was
/// in; a fresh child goes on with the rest. Results are cached by (real path, size, mtime) so a
/// command spawns no child when no library changed.
public struct PluginScanner: Sendable {
    /// The executable to run with `__scan-plugins`.
    public let executable: String
    /// Seconds a library may take to answer.
    public let timeout: Double
    /// The cache file, or nil for none.
    public let cacheFile: String?

    public static let subcommand = "__scan-plugins"
    public static let defaultTimeout = 10.0

    public init(executable: String, timeout: Double = PluginScanner.defaultTimeout, cacheFile: String?) {
        self.executable = executable
        self.timeout = timeout
        self.cacheFile = cacheFile
    }

    /// The scanner for the running executable (/proc/self/exe), with RSYNTH_PLUGIN_SCAN_TIMEOUT
    /// (seconds) and the cache in $RSYNTH_CACHE_DIR or ~/.cache/rsynth.
    public static func forThisExecutable(environment: [String: String] = ProcessInfo.processInfo.environment) -> PluginScanner? {
        let exe = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe"))
            ?? CommandLine.arguments.first.map { URL(fileURLWithPath: $0).resolvingSymlinksInPath().path }
        guard let exe, FileManager.default.isExecutableFile(atPath: exe) else { return nil }
        var timeout = defaultTimeout
        if let t = environment["RSYNTH_PLUGIN_SCAN_TIMEOUT"].flatMap(Double.init), t > 0, t.isFinite { timeout = t }
        return PluginScanner(executable: exe, timeout: timeout, cacheFile: cachePath(environment: environment))
    }

    public static func cachePath(environment: [String: String]) -> String? {
        cacheFolder(environment: environment).map { ($0 as NSString).appendingPathComponent("plugin-scan-v1.json") }
    }

    /// rsynth's cache folder (the plugin scan, the judge's images): $RSYNTH_CACHE_DIR, else
    /// $XDG_CACHE_HOME/rsynth, else ~/.cache/rsynth; nil without any of them.
    public static func cacheFolder(environment: [String: String]) -> String? {
        if let dir = environment["RSYNTH_CACHE_DIR"], !dir.isEmpty { return dir }
        if let xdg = environment["XDG_CACHE_HOME"], !xdg.isEmpty { return (xdg as NSString).appendingPathComponent("rsynth") }
        guard let home = environment["HOME"], !home.isEmpty else { return nil }
        return (home as NSString).appendingPathComponent(".cache/rsynth")
    }

    /// The result for each library (by the path given). A library missing from the answer could
    /// not be vetted (no child could be started): the caller loads it as it would without one.
    public func scan(_ libraries: [String]) -> [String: ScanResult] {
        var cache = ScanCache(path: cacheFile)
        var results = [String: ScanResult]()
        var identities = [String: FileIdentity]()
        var toScan = [String]()
        for library in libraries {
            guard let id = FileIdentity(library) else { toScan.append(library); continue }
            identities[library] = id
            if let cached = cache.lookup(id) { results[library] = cached } else { toScan.append(library) }
        }
        if toScan.isEmpty { return results }
        let scanned = scanInChildren(toScan)
        for (library, result) in scanned {
            results[library] = result
            // Re-read the identity: a library replaced while it was scanned is not cached.
            if let id = identities[library], FileIdentity(library) == id { cache.store(id, result) }
        }
        cache.save()
        return results
    }

    /// Runs children until every library has an answer; stops early (leaving the rest without
    /// one) if a child answers nothing at all.
    func scanInChildren(_ libraries: [String]) -> [String: ScanResult] {
        var results = [String: ScanResult]()
        var remaining = libraries[...]
        while !remaining.isEmpty {
            let round = runChild(Array(remaining))
            for (library, result) in round.results { results[library] = result }
            guard !round.results.isEmpty else { break }
            remaining = remaining.filter { results[$0] == nil }[...]
        }
        return results
    }

    struct Round { var results: [String: ScanResult] = [:] }

    /// One child over `libraries`, until it finishes, dies or stops answering.
    func runChild(_ libraries: [String]) -> Round {
        var round = Round()
        var fds: [Int32] = [-1, -1]
        guard pipe(&fds) == 0 else { return round }
        let (readEnd, writeEnd) = (fds[0], fds[1])
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addclose(&actions, readEnd)
        posix_spawn_file_actions_adddup2(&actions, writeEnd, 1)
        posix_spawn_file_actions_addclose(&actions, writeEnd)
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 2, "/dev/null", O_WRONLY, 0)
        var environment = ProcessInfo.processInfo.environment
        environment["SWIFT_BACKTRACE"] = "enable=no"   // a crash in the child is an answer, not a report
        let argv = [executable, Self.subcommand] + libraries
        let envp = environment.map { "\($0.key)=\($0.value)" }
        var pid: pid_t = 0
        let spawned = withCStrings(argv) { a in
            withCStrings(envp) { e in posix_spawn(&pid, executable, &actions, nil, a, e) }
        }
        close(writeEnd)
        guard spawned == 0 else { close(readEnd); return round }
        defer { close(readEnd) }

        var current: String? = nil
        var buffer = [UInt8]()
        var timedOut = false
        var deadline = Date().addingTimeInterval(timeout)
        reading: while true {
            let left = deadline.timeIntervalSinceNow
            if left <= 0 { timedOut = true; break }
            var p = pollfd(fd: readEnd, events: Int16(POLLIN), revents: 0)
            let ready = poll(&p, 1, Int32(min(left * 1000 + 1, 1e9)))
            if ready < 0 { if errno == EINTR { continue }; break }
            if ready == 0 { continue }   // the deadline check above ends it
            var chunk = [UInt8](repeating: 0, count: 4096)
            let n = read(readEnd, &chunk, chunk.count)
            if n < 0 { if errno == EINTR { continue }; break }
            if n == 0 { break }           // the child closed its output: finished or died
            buffer += chunk[0..<n]
            while let newline = buffer.firstIndex(of: UInt8(ascii: "\n")) {
                let line = String(decoding: buffer[..<newline], as: UTF8.self)
                buffer.removeSubrange(...newline)
                deadline = Date().addingTimeInterval(timeout)
                if line.hasPrefix("begin ") {
                    current = String(line.dropFirst(6))
                } else if let c = current, line == "ok \(c)" {
                    round.results[c] = .ok
                    current = nil
                } else if let c = current, line.hasPrefix("failed \(c): ") {
                    round.results[c] = .failed(Self.unescape(String(line.dropFirst("failed \(c): ".count))))
                    current = nil
                }
            }
        }
        if timedOut { kill(pid, SIGKILL) }
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
        // The library the child was in when it died or hung failed; a child stopped from outside
        // (Ctrl-C reaches it too) says nothing about the library, which stays unvetted.
        let signal = status & 0x7f
        let interrupted = !timedOut && [SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGKILL].contains(signal)
        if let c = current, libraries.contains(c), !interrupted {
            round.results[c] = .failed(timedOut ? "did not answer within \(Self.seconds(timeout)) while loading"
                                                : Self.describeExit(status))
        }
        return round
    }

    static func seconds(_ t: Double) -> String {
        t == t.rounded() ? "\(Int(t)) s" : String(format: "%g s", t)
    }

    /// "crashed with SIGSEGV (Segmentation fault) while loading", "aborted (SIGABRT) while loading".
    static func describeExit(_ status: Int32) -> String {
        let signal = status & 0x7f
        if signal == 0 {
            let code = (status >> 8) & 0xff
            return "exited with status \(code) while loading"
        }
        if signal == SIGABRT { return "aborted (SIGABRT) while loading" }
        let description = strsignal(signal).map { String(cString: $0) } ?? "signal \(signal)"
        if let name = signalNames[signal] { return "crashed with \(name) (\(description)) while loading" }
        return "crashed with signal \(signal) (\(description)) while loading"
    }

    static let signalNames: [Int32: String] = [
        SIGSEGV: "SIGSEGV", SIGBUS: "SIGBUS", SIGILL: "SIGILL", SIGFPE: "SIGFPE", SIGTRAP: "SIGTRAP",
        SIGKILL: "SIGKILL", SIGTERM: "SIGTERM", SIGSYS: "SIGSYS", SIGPIPE: "SIGPIPE", SIGXCPU: "SIGXCPU",
        SIGXFSZ: "SIGXFSZ", SIGHUP: "SIGHUP", SIGINT: "SIGINT", SIGQUIT: "SIGQUIT", SIGUSR1: "SIGUSR1",
        SIGUSR2: "SIGUSR2", SIGALRM: "SIGALRM",
    ]

    /// A reason on one line: backslashes and newlines escaped.
    static func escape(_ s: String) -> String {
        s.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\n", with: "\\n")
    }

    static func unescape(_ s: String) -> String {
        var out = "", escaped = false
        for c in s {
            if escaped { out.append(c == "n" ? "\n" : c); escaped = false } else if c == "\\" { escaped = true } else { out.append(c) }
        }
        return out
    }

    /// The child: `rsynth __scan-plugins LIB...`. Loads each library as PluginLoader.load does and
    /// answers on standard output (unbuffered); the plugins' own output goes to standard error.
    /// RSYNTH_PLUGIN_SCAN_LOG names a file that gets a line "scan LIB" per library.
    public static func runScanChild(_ libraries: [String],
                                    environment: [String: String] = ProcessInfo.processInfo.environment) -> Int32 {
        var noCore = rlimit(rlim_cur: 0, rlim_max: 0)
        setrlimit(__rlimit_resource_t(RLIMIT_CORE.rawValue), &noCore)   // a crash here is expected: no core files
        let answers = dup(1)
        dup2(2, 1)
        func say(_ line: String) {
            var bytes = Array((line + "\n").utf8)
            var offset = 0
            while offset < bytes.count {
                let n = bytes.withUnsafeMutableBytes { write(answers, $0.baseAddress! + offset, $0.count - offset) }
                if n < 0 { if errno == EINTR { continue }; return }
                offset += n
            }
        }
        let log = environment["RSYNTH_PLUGIN_SCAN_LOG"].flatMap { $0.isEmpty ? nil : $0 }
        for library in libraries {
            if let log, let f = fopen(log, "a") { fputs("scan \(library)\n", f); fclose(f) }
            say("begin \(library)")
            switch PluginLoader.load(library) {
            case .success: say("ok \(library)")
            case .failure(let f): say("failed \(library): \(escape(f.reason))")
            }
        }
        return 0
    }
}

/// Calls `body` with a NULL-terminated C array of the strings.
private func withCStrings<R>(_ strings: [String], _ body: ([UnsafeMutablePointer<CChar>?]) -> R) -> R {
    let pointers = strings.map { strdup($0) } + [nil]
    defer { for p in pointers { free(p) } }
    return body(pointers)
}

/// A file as the cache knows it: real path, size and modification time in nanoseconds.
struct FileIdentity: Equatable {
    let path: String
    let size: Int64
    let mtimeNs: Int64

    init?(_ library: String) {
        guard let real = realpath(library, nil) else { return nil }
        path = String(cString: real)
        free(real)
        var st = stat()
        guard stat(path, &st) == 0 else { return nil }
        size = Int64(st.st_size)
        mtimeNs = Int64(st.st_mtim.tv_sec) * 1_000_000_000 + Int64(st.st_mtim.tv_nsec)
    }
}

/// plugin-scan-v1.json: {"host_abi": N, "libraries": {REALPATH: {"size", "mtime_ns", "ok", "reason"}}}.
/// Written atomically (a temporary file renamed over it); one that cannot be read is ignored and
/// rewritten.
struct ScanCache {
    let path: String?
    var entries: [String: [String: Any]] = [:]
    var changed = false

    init(path: String?) {
        self.path = path
        guard let path, let data = FileManager.default.contents(atPath: path),
              let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any],
              (object["host_abi"] as? Int) == Int(PluginLoader.hostABIVersion),
              let libraries = object["libraries"] as? [String: [String: Any]] else {
            changed = path != nil && FileManager.default.fileExists(atPath: path ?? "")
            return
        }
        entries = libraries
    }

    func lookup(_ id: FileIdentity) -> ScanResult? {
        guard let e = entries[id.path], (e["size"] as? NSNumber)?.int64Value == id.size,
              (e["mtime_ns"] as? NSNumber)?.int64Value == id.mtimeNs, let ok = e["ok"] as? Bool else { return nil }
        if ok { return .ok }
        guard let reason = e["reason"] as? String else { return nil }
        return .failed(reason)
    }

    mutating func store(_ id: FileIdentity, _ result: ScanResult) {
        var e: [String: Any] = ["size": NSNumber(value: id.size), "mtime_ns": NSNumber(value: id.mtimeNs)]
        switch result {
        case .ok: e["ok"] = true
        case .failed(let reason): e["ok"] = false; e["reason"] = reason
        }
        entries[id.path] = e
        changed = true
    }

    /// Writes the cache if anything changed, dropping libraries that no longer exist.
    func save() {
        guard let path, changed else { return }
        let kept = entries.filter { FileManager.default.fileExists(atPath: $0.key) }
        let object: [String: Any] = ["host_abi": Int(PluginLoader.hostABIVersion), "libraries": kept]
        guard let data = try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys, .withoutEscapingSlashes]) else { return }
        let dir = (path as NSString).deletingLastPathComponent
        try? FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        let temporary = path + ".tmp-\(getpid())"
        guard FileManager.default.createFile(atPath: temporary, contents: data) else { return }
        if rename(temporary, path) != 0 { unlink(temporary) }
    }
}
