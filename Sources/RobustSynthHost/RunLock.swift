import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// One owner per run folder: an exclusive flock on `<folder>/.lock`, held until the lock is
/// released or the process ends (the kernel drops a flock with its process, so a killed run
/// never blocks the next). The file holds the holder's process id and start time, for the
/// message a second run gets. Taken before anything in the folder is read or written.
public final class RunFolderLock {
    public static let fileName = ".lock"
    public let directory: String
    private var fd: Int32
    /// Folders this lock created (innermost first), removed again by `abandon()`.
    private let created: [String]

    private init(directory: String, fd: Int32, created: [String]) {
        self.directory = directory; self.fd = fd; self.created = created
    }

    deinit { release() }

    /// The folder (created when missing) locked for this process, or a RunError in one sentence:
    /// the folder is a file, cannot be created or written, or another rsynth process holds it.
    public static func acquire(_ directory: String) throws -> RunFolderLock {
        let created = try makeFolder(directory)
        let lockPath = (directory as NSString).appendingPathComponent(fileName)
        let fd = open(lockPath, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK, 0o644)
        if fd < 0 {
            let reason = String(cString: strerror(errno))
            throw RunError("cannot write in output folder \(directory): \(reason)")
        }
        var st = stat()
        if fstat(fd, &st) != 0 || (st.st_mode & S_IFMT) != S_IFREG {
            close(fd)
            throw RunError("cannot lock output folder \(directory): \(lockPath) is not a regular file")
        }
        if flock(fd, LOCK_EX | LOCK_NB) != 0 {
            let code = errno
            defer { close(fd) }
            if code == EWOULDBLOCK {
                throw RunError("run folder \(directory) is in use by \(holder(fd)); wait for it or choose another --out")
            }
            throw RunError("cannot lock output folder \(directory): \(String(cString: strerror(code)))")
        }
        let stamp = ISO8601DateFormatter().string(from: Date())
        let line = Array("\(getpid()) \(stamp)\n".utf8)
        _ = ftruncate(fd, 0)
        let written = line.withUnsafeBytes { pwrite(fd, $0.baseAddress, $0.count, 0) }
        if written != line.count {
            let reason = written < 0 ? String(cString: strerror(errno)) : "short write"
            close(fd)
            throw RunError("cannot write in output folder \(directory): \(reason)")
        }
        return RunFolderLock(directory: directory, fd: fd, created: created)
    }

    /// "rsynth process PID (started TIME)" from the lock file; the holder may still be writing
    /// it, so a few short retries.
    private static func holder(_ fd: Int32) -> String {
        for attempt in 0..<20 {
            var buffer = [UInt8](repeating: 0, count: 256)
            let n = buffer.withUnsafeMutableBytes { pread(fd, $0.baseAddress, $0.count, 0) }
            if n > 0 {
                let text = String(decoding: buffer[0..<n], as: UTF8.self)
                let parts = text.split(whereSeparator: { $0 == " " || $0 == "\n" })
                if parts.count >= 2, Int32(parts[0]) != nil, text.hasSuffix("\n") {
                    return "rsynth process \(parts[0]) (started \(parts[1]))"
                }
            }
            if attempt < 19 { usleep(10_000) }
        }
        return "another rsynth process"
    }

    /// Creates the folder and its missing parents; returns those it created, innermost first.
    private static func makeFolder(_ directory: String) throws -> [String] {
        var missing = [String]()
        var path = directory
        while !path.isEmpty {
            var st = stat()
            if stat(path, &st) == 0 {
                guard (st.st_mode & S_IFMT) == S_IFDIR else {
                    throw RunError(path == directory ? "output folder \(directory) is a file, not a folder"
                                                     : "cannot create output folder \(directory): \(path) is a file, not a folder")
                }
                break
            }
            let code = errno
            if code != ENOENT && code != ENOTDIR {
                throw RunError("cannot use output folder \(directory): \(path): \(String(cString: strerror(code)))")
            }
            missing.append(path)
            path = parent(of: path)
        }
        var made = [String]()
        for p in missing.reversed() {
            if mkdir(p, 0o755) != 0 && errno != EEXIST {
                let reason = String(cString: strerror(errno))
                for m in made.reversed() { rmdir(m) }
                throw RunError("cannot create output folder \(directory): \(reason)")
            }
            made.append(p)
        }
        return made.reversed()
    }

    /// "a/b" -> "a", "/a" -> "/", "a" -> "" (no parent to make); trailing slashes ignored.
    private static func parent(of path: String) -> String {
        var p = Substring(path)
        while p.count > 1 && p.hasSuffix("/") { p = p.dropLast() }
        guard let slash = p.lastIndex(of: "/") else { return "" }
        if slash == p.startIndex { return p == "/" ? "" : "/" }
        return String(p[..<slash])
    }

    /// Unlocks (the lock file stays: removing it could let two runs lock different files).
    public func release() {
        if fd >= 0 { close(fd); fd = -1 }
    }

    /// Releases the lock of a run that wrote nothing, and removes the folders it created for
    /// it, so a failed start leaves nothing behind.
    public func abandon() {
        if !created.isEmpty { unlink((directory as NSString).appendingPathComponent(Self.fileName)) }
        release()
        for dir in created { if rmdir(dir) != 0 { break } }
    }
}
