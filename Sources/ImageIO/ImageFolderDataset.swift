import Foundation
#if canImport(Glibc)
import Glibc
#endif
import RobustSynthCore

/// A folder of images, one sub-folder per class (as Imagenette and ImageNet's `train`/`val`).
///
/// A class folder is named by a WordNet id (`n01440764`), a class name (`tench`, with `_` for
/// spaces allowed: `golf_ball`) or an index (`0`), and mapped to a class index through the
/// `ClassLabels` passed in. Files ending .jpg/.jpeg/.png (any case) are the images; other files
/// and hidden entries are ignored. Class folders are sorted by name, files within a class by name,
/// so the item order is deterministic. A split (`train`, `val`) is simply another root folder.
public struct ImageFolderDataset: Sendable {
    public struct ClassFolder: Sendable, Equatable {
        /// Folder name as on disk.
        public var folder: String
        /// Class index in the labels.
        public var label: Int
        /// Indices into `items` of this class's images.
        public var items: Range<Int>
    }

    public struct Item: Sendable, Equatable {
        public var path: String
        public var label: Int
    }

    public let root: String
    public let classes: [ClassFolder]
    public let items: [Item]
    /// Entries that look like images or class folders but cannot be read as such, with why:
    /// a FIFO, socket, device or folder named like an image, a symlink loop or a dangling
    /// link, a name that is not UTF-8 (shown with its bytes escaped, \xNN). Never opened.
    public let skipped: [SkippedImage]

    /// Scans `root`. Throws an `ImageError` listing every problem at once: a missing root, a root
    /// without class folders, a class folder with no images, an unknown class folder name (with a
    /// "did you mean"), two folders naming the same class. Entries are read with lstat/stat only:
    /// nothing is opened, so a FIFO named `x.png` cannot block the scan.
    public init(root: String, labels: ClassLabels, limitPerClass: Int? = nil) throws {
        var st = stat()
        if stat(root, &st) != 0 {
            let code = errno
            if code == ENOENT { throw ImageError("dataset folder '\(root)' does not exist") }
            throw ImageError("cannot read dataset folder '\(root)': \(String(cString: strerror(code)))")
        }
        guard (st.st_mode & S_IFMT) == S_IFDIR else { throw ImageError("dataset '\(root)' is not a folder") }
        var skipped = [SkippedImage]()
        func notUTF8(_ folder: String, _ bytes: [UInt8]) {
            skipped.append(SkippedImage(path: folder + "/" + FileChecks.escaped(bytes), reason: "the name is not valid UTF-8"))
        }
        let entries = try FileChecks.entries(root)
        var folders = [String]()
        var looseImages = false
        for e in entries {
            guard let name = e.name else { notUTF8(root, e.bytes); continue }
            let path = root + "/" + name
            var s = stat()
            if stat(path, &s) != 0 {
                skipped.append(SkippedImage(path: path, reason: FileChecks.notRegularFile(path) ?? "cannot be read"))
                continue
            }
            if (s.st_mode & S_IFMT) == S_IFDIR { folders.append(name) }
            else if ImageFolderDataset.isImageName(name) { looseImages = true }
        }
        folders.sort()
        guard !folders.isEmpty else {
            throw ImageError("dataset folder '\(root)' has no class folders" +
                             (looseImages ? " (it holds images directly: put them in one folder per class)"
                                          : " (expected one folder of .jpg/.jpeg/.png images per class)"))
        }
        var problems = [String]()
        var classes = [ClassFolder]()
        var items = [Item]()
        var seen = [Int: String]()
        var candidates = labels.names
        if let ids = labels.wordNetIDs { candidates += ids }
        for folder in folders {
            let path = root + "/" + folder
            guard let label = ImageFolderDataset.resolve(folder, labels: labels) else {
                var msg = "dataset folder '\(path)': unknown class '\(folder)'"
                if let m = closestMatch(to: folder.replacingOccurrences(of: "_", with: " "), in: candidates) {
                    msg += " (did you mean '\(m)'?)"
                }
                problems.append(msg)
                continue
            }
            if let other = seen[label] {
                problems.append("dataset folders '\(root)/\(other)' and '\(path)' both name class \(label) (\(labels.name(label)))")
                continue
            }
            seen[label] = folder
            var files = [String]()
            let listing: [(name: String?, bytes: [UInt8])]
            do { listing = try FileChecks.entries(path) } catch let e as ImageError { problems.append(e.message); continue }
            for e in listing {
                guard let name = e.name else { notUTF8(path, e.bytes); continue }
                guard ImageFolderDataset.isImageName(name) else { continue }
                if let why = FileChecks.notRegularFile(path + "/" + name) {
                    skipped.append(SkippedImage(path: path + "/" + name, reason: why))
                } else {
                    files.append(name)
                }
            }
            files.sort()
            if files.isEmpty {
                problems.append("dataset folder '\(path)' (class \(label), \(labels.name(label))) has no .jpg, .jpeg or .png images")
                continue
            }
            let chosen = limitPerClass.map { Array(files.prefix(Swift.max(0, $0))) } ?? files
            let start = items.count
            for f in chosen { items.append(Item(path: path + "/" + f, label: label)) }
            classes.append(ClassFolder(folder: folder, label: label, items: start..<items.count))
        }
        skipped.sort { $0.path < $1.path }
        if !problems.isEmpty {
            var text = problems.joined(separator: "\n")
            if !skipped.isEmpty { text += "\n" + ImageFolderDataset.skippedText(skipped) }
            throw ImageError(text)
        }
        self.root = root
        self.classes = classes
        self.items = items
        self.skipped = skipped
    }

    /// "skipped N entries: PATH: REASON; ..." for a log line.
    public static func skippedText(_ skipped: [SkippedImage]) -> String {
        "skipped \(skipped.count) entr\(skipped.count == 1 ? "y" : "ies") of the dataset: "
            + skipped.map(\.description).joined(separator: "; ")
    }

    /// The class index a folder name stands for: index, WordNet id, class name or lemma, with
    /// underscores read as spaces.
    public static func resolve(_ folder: String, labels: ClassLabels) -> Int? {
        labels.resolve(folder) ?? labels.resolve(folder.replacingOccurrences(of: "_", with: " "))
    }

    public static func isImageName(_ name: String) -> Bool {
        guard let dot = name.lastIndex(of: ".") else { return false }
        return ImageFile.imageExtensions.contains(name[name.index(after: dot)...].lowercased())
    }

    public var count: Int { items.count }

    /// The decoded image of item `index`.
    public func image(_ index: Int) throws -> RGBImage { try ImageFile.read(items[index].path) }
}
