import Foundation

/// Paths of the package and its build products, and small process helpers, for every test target
/// that runs the built `rsynth` (a library target of its own so the helpers exist once).
public enum TestSupport {
    /// The repository root (this file is Tests/RSynthTestSupport/TestSupport.swift).
    public static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    /// The build folder: where the test bundle, rsynth and the plugin libraries are.
    public static let products: URL = {
        let exe = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath()
        var dir = exe.deletingLastPathComponent()
        // On Linux the bundle is an executable in the build folder; on macOS a folder inside it.
        while !FileManager.default.fileExists(atPath: dir.appendingPathComponent("rsynth").path), dir.path != "/" {
            dir = dir.deletingLastPathComponent()
        }
        return dir
    }()

    public static var rsynth: URL { products.appendingPathComponent("rsynth") }

    public static func temporaryDirectory(_ name: String = #function) -> URL {
        let dir = FileManager.default.temporaryDirectory
            .appendingPathComponent("rsynth-tests-\(getpid())-\(name.filter { $0.isLetter || $0.isNumber })")
        try? FileManager.default.removeItem(at: dir)
        try! FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        return dir
    }

    public struct Output { public let status: Int32; public let stdout: String; public let stderr: String }

    /// The plugin-scan cache of the rsynth runs of this test process (not the user's ~/.cache).
    public static let cacheDirectory: URL = {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("rsynth-tests-\(getpid())-cache")
        try? FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        return dir
    }()

    /// Runs a program with the environment minus RSYNTH_PLUGIN_PATH, with RSYNTH_CACHE_DIR set to
    /// `cacheDirectory` (plus `environment`).
    @discardableResult
    public static func run(_ executable: URL, _ arguments: [String], environment: [String: String] = [:],
                    directory: URL? = nil) throws -> Output {
        let p = Process()
        p.executableURL = executable
        p.arguments = arguments
        var env = ProcessInfo.processInfo.environment
        env["RSYNTH_PLUGIN_PATH"] = nil
        env["RSYNTH_CACHE_DIR"] = cacheDirectory.path
        env["RSYNTH_PLUGIN_SCAN_LOG"] = nil
        for (k, v) in environment { env[k] = v }
        p.environment = env
        if let directory { p.currentDirectoryURL = directory }
        let out = Pipe(), err = Pipe()
        p.standardOutput = out
        p.standardError = err
        try p.run()
        // Read both pipes before waiting, so a chatty child never blocks on a full pipe.
        var outData = Data()
        nonisolated(unsafe) var errData = Data()
        let group = DispatchGroup()
        group.enter()
        DispatchQueue.global().async { errData = err.fileHandleForReading.readDataToEndOfFile(); group.leave() }
        outData = out.fileHandleForReading.readDataToEndOfFile()
        group.wait()
        p.waitUntilExit()
        return Output(status: p.terminationStatus, stdout: String(decoding: outData, as: UTF8.self),
                      stderr: String(decoding: errData, as: UTF8.self))
    }

    public static func rsynth(_ arguments: [String], environment: [String: String] = [:], directory: URL? = nil) throws -> Output {
        try run(rsynth, arguments, environment: environment, directory: directory)
    }

    /// Builds a C plugin with `cc` as a third party would: only the ABI header, outside SwiftPM.
    /// Builds a plain-C plugin with cc, against this rsynth's synth_plugin.h or `include`'s.
    public static func buildCPlugin(_ source: URL, into dir: URL, name: String, include: URL? = nil) throws -> URL {
        let out = dir.appendingPathComponent("lib\(name).so")
        let include = (include ?? root.appendingPathComponent("Sources/SynthPluginABI/include")).path
        let r = try run(URL(fileURLWithPath: "/usr/bin/env"),
                        ["cc", "-std=c11", "-O2", "-shared", "-fPIC", "-I", include, source.path, "-o", out.path, "-lm"])
        if r.status != 0 { throw NSError(domain: "cc", code: Int(r.status), userInfo: [NSLocalizedDescriptionKey: r.stderr]) }
        return out
    }

    public static func fixture(_ path: String) -> URL { root.appendingPathComponent("Tests/Fixtures/\(path)") }

    public static func write(_ text: String, to url: URL) {
        try! FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
        try! text.write(to: url, atomically: true, encoding: .utf8)
    }

    public static func json(_ url: URL) throws -> [String: Any] {
        try JSONSerialization.jsonObject(with: Data(contentsOf: url)) as! [String: Any]
    }

    /// Reads a float32 .npy written by rsynth: (shape, values).
    public static func readNPY(_ url: URL) throws -> (shape: [Int], values: [Float]) {
        let data = try Data(contentsOf: url)
        let headerLength = Int(data[8]) | Int(data[9]) << 8
        let header = String(decoding: data[10..<(10 + headerLength)], as: UTF8.self)
        let shapeText = header.components(separatedBy: "'shape': (")[1].components(separatedBy: ")")[0]
        let shape = shapeText.split(separator: ",").compactMap { Int($0.trimmingCharacters(in: .whitespaces)) }
        let body = data[(10 + headerLength)...]
        let values = body.withUnsafeBytes { Array($0.bindMemory(to: Float.self)) }
        return (shape, values)
    }
}

extension TestSupport {
    /// Runs the built rsynth like `rsynth(_:)`, but under `ulimit -v` (address space, through
    /// /bin/sh): a command that tries a larger allocation fails (a trap, not exit status 1). The
    /// tests of hostile inputs use it to show an error comes before any large allocation. (Peak
    /// RSS from wait4 is no measure here: posix_spawn's vfork carries the parent's high-water
    /// mark into the child.)
    public static func rsynth(_ arguments: [String], memoryLimitMiB: Int, environment: [String: String] = [:]) throws -> Output {
        try run(URL(fileURLWithPath: "/bin/sh"),
                ["-c", "ulimit -v \(memoryLimitMiB * 1024) && exec \"$0\" \"$@\"", rsynth.path] + arguments,
                environment: environment)
    }
}

/// Sets an environment switch (nil: unset) for body, e.g. one the oneDNN net reads when it is built.
public func withEnvironment<R>(_ name: String, _ value: String?, _ body: () throws -> R) rethrows -> R {
    let old = getenv(name).map { String(cString: $0) }
    if let value { setenv(name, value, 1) } else { unsetenv(name) }
    defer { if let old { setenv(name, old, 1) } else { unsetenv(name) } }
    return try body()
}
