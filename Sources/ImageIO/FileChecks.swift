import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// What a path is, checked with stat before anything opens it (opening a FIFO for reading
/// blocks until a writer comes), and Foundation's file errors as the OS's own sentence.
public enum FileChecks {
    /// nil when `path` is a regular file (after symlinks); else why it cannot be read as one:
    /// "no such file", "it is a folder", "it is a FIFO (named pipe), not a regular file",
    /// "Too many levels of symbolic links" (a loop), ...
    public static func notRegularFile(_ path: String) -> String? {
        var st = stat()
        guard stat(path, &st) == 0 else {
            let code = errno
            var link = stat()
            if code == ENOENT && lstat(path, &link) == 0 { return "it is a link to nothing (a dangling symlink)" }
            return code == ENOENT ? "no such file" : String(cString: strerror(code))
        }
        return kindProblem(st.st_mode)
    }

    /// nil for a regular file's mode; else what the entry is instead.
    static func kindProblem(_ mode: mode_t) -> String? {
        switch mode & S_IFMT {
        case S_IFREG: return nil
        case S_IFDIR: return "it is a folder, not a file"
        case S_IFIFO: return "it is a FIFO (named pipe), not a regular file"
        case S_IFSOCK: return "it is a socket, not a regular file"
        case S_IFCHR, S_IFBLK: return "it is a device, not a regular file"
        default: return "it is not a regular file"
        }
    }

    /// Whether `path` is a folder (after symlinks), or why it cannot be used as one.
    public static func folderProblem(_ path: String) -> String? {
        var st = stat()
        guard stat(path, &st) == 0 else {
            let code = errno
            return code == ENOENT ? "no such folder" : String(cString: strerror(code))
        }
        return (st.st_mode & S_IFMT) == S_IFDIR ? nil : "it is not a folder"
    }

    /// The OS's reason (strerror) for a Foundation file error, never "NSCocoaErrorDomain error 256".
    public static func reason(_ error: Error) -> String {
        if let e = error as? POSIXError { return String(cString: strerror(e.code.rawValue)) }
        let ns = error as NSError
        if ns.domain == NSPOSIXErrorDomain { return String(cString: strerror(Int32(ns.code))) }
        if let u = ns.userInfo[NSUnderlyingErrorKey] as? POSIXError { return String(cString: strerror(u.code.rawValue)) }
        if let u = ns.userInfo[NSUnderlyingErrorKey] as? NSError, u.domain == NSPOSIXErrorDomain {
            return String(cString: strerror(Int32(u.code)))
        }
        if ns.domain == NSCocoaErrorDomain {
            switch CocoaError.Code(rawValue: ns.code) {
            case .fileNoSuchFile, .fileReadNoSuchFile: return String(cString: strerror(ENOENT))
            case .fileReadNoPermission, .fileWriteNoPermission: return String(cString: strerror(EACCES))
            case .fileWriteFileExists: return String(cString: strerror(EEXIST))
            case .fileWriteOutOfSpace: return String(cString: strerror(ENOSPC))
            case .fileWriteVolumeReadOnly: return String(cString: strerror(EROFS))
            case .fileReadTooLarge: return String(cString: strerror(EFBIG))
            default: break
            }
        }
        let text = ns.localizedDescription
        return text.contains("NSCocoaErrorDomain") || text.isEmpty ? "the operation failed (error \(ns.code))" : text
    }

    /// An error as one sentence: a Foundation file error as "PATH: REASON" (the OS's reason),
    /// anything else as it describes itself.
    public static func describe(_ error: Error) -> String {
        let ns = error as NSError
        guard error is CocoaError || error is POSIXError || ns.domain == NSCocoaErrorDomain || ns.domain == NSPOSIXErrorDomain else {
            return "\(error)"
        }
        let path = (ns.userInfo[NSFilePathErrorKey] as? String) ?? (ns.userInfo[NSURLErrorKey] as? URL)?.path
        return path.map { "\($0): \(reason(error))" } ?? reason(error)
    }

    /// The entries of a folder with their raw name bytes (readdir), so that a name that is not
    /// UTF-8 is seen rather than dropped or mangled. Hidden entries (".x") are left out.
    public static func entries(_ folder: String) throws -> [(name: String?, bytes: [UInt8])] {
        guard let d = opendir(folder) else {
            throw ImageError("cannot list folder '\(folder)': \(String(cString: strerror(errno)))")
        }
        defer { closedir(d) }
        var out = [(name: String?, bytes: [UInt8])]()
        while let e = readdir(d) {
            let bytes: [UInt8] = withUnsafeBytes(of: e.pointee.d_name) { raw in
                Array(raw.prefix(while: { $0 != 0 }))
            }
            if bytes.first == UInt8(ascii: ".") { continue }
            out.append((String(validating: bytes, as: UTF8.self), bytes))
        }
        return out
    }

    /// A name's bytes as text: UTF-8 where valid, every other byte as \xNN.
    public static func escaped(_ bytes: [UInt8]) -> String {
        var out = ""
        var i = 0
        while i < bytes.count {
            // The longest valid UTF-8 sequence starting here (1 to 4 bytes), else one escaped byte.
            var taken = false
            for n in stride(from: min(4, bytes.count - i), through: 1, by: -1) {
                if let s = String(validating: bytes[i..<(i + n)], as: UTF8.self), s.unicodeScalars.count == 1 {
                    let v = s.unicodeScalars.first!.value
                    out += v < 0x20 || v == 0x5C ? String(format: "\\x%02x", bytes[i]) : s
                    i += n; taken = true; break
                }
            }
            if !taken { out += String(format: "\\x%02x", bytes[i]); i += 1 }
        }
        return out
    }
}
