import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Maps a request's path (after the route's prefix) to a file inside the studio's runs folder,
/// or says why not. The path is percent-decoded once; a `..` or `.` component, a backslash, a
/// NUL, or a symbolic link that leads outside the folder is refused, so nothing outside the runs
/// folder is ever read.
public enum StudioPaths {
    public struct Refusal: Error, Equatable, CustomStringConvertible {
        public let description: String
    }

    /// The real path of the file `requestPath` names under `root` (itself a real path).
    public static func resolve(_ requestPath: String, under root: String) -> Result<String, Refusal> {
        guard let decoded = requestPath.removingPercentEncoding else {
            return .failure(Refusal(description: "the path is not valid percent-encoding"))
        }
        if decoded.contains("\0") || decoded.contains("\\") {
            return .failure(Refusal(description: "the path has a NUL or a backslash"))
        }
        let parts = decoded.split(separator: "/", omittingEmptySubsequences: true)
        if parts.contains(where: { $0 == ".." || $0 == "." }) {
            return .failure(Refusal(description: "the path leaves the runs folder ('..' or '.')"))
        }
        guard !parts.isEmpty else { return .failure(Refusal(description: "no file named")) }
        let joined = root + "/" + parts.joined(separator: "/")
        guard let real = realPath(joined) else { return .failure(Refusal(description: "no such file")) }
        guard real.hasPrefix(root + "/") else {
            return .failure(Refusal(description: "the path leads outside the runs folder (a symbolic link)"))
        }
        var st = stat()
        guard stat(real, &st) == 0, (st.st_mode & S_IFMT) == S_IFREG else {
            return .failure(Refusal(description: "not a regular file"))
        }
        return .success(real)
    }

    /// realpath(3): every symbolic link resolved; nil if the path does not exist.
    public static func realPath(_ path: String) -> String? {
        guard let p = realpath(path, nil) else { return nil }
        defer { free(p) }
        return String(cString: p)
    }

    /// A name the studio creates files or folders by (a run folder, an upload): letters, digits,
    /// '.', '-' and '_', at most 100, not starting with '.'.
    public static func isPlainName(_ s: String) -> Bool {
        !s.isEmpty && s.utf8.count <= 100 && !s.hasPrefix(".")
            && s.unicodeScalars.allSatisfy { ($0.isASCII && CharacterSet.alphanumerics.contains($0)) || "._-".unicodeScalars.contains($0) }
    }

    /// The Content-Type of a file the studio serves, by its extension.
    public static func contentType(_ path: String) -> String {
        switch (path as NSString).pathExtension.lowercased() {
        case "html": return "text/html; charset=utf-8"
        case "png": return "image/png"
        case "jpg", "jpeg": return "image/jpeg"
        case "svg": return "image/svg+xml"
        case "json": return "application/json"
        case "csv": return "text/csv; charset=utf-8"
        default: return "text/plain; charset=utf-8"
        }
    }
}
