import Foundation
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

    /// Scans `root`. Throws an `ImageError` listing every problem at once: a missing root, a root
    /// without class folders, a class folder with no images, an unknown class folder name (with a
    /// "did you mean"), two folders naming the same class.
    public init(root: String, labels: ClassLabels, limitPerClass: Int? = nil) throws {
        let fm = FileManager.default
        var isDir: ObjCBool = false
        guard fm.fileExists(atPath: root, isDirectory: &isDir) else {
            throw ImageError("dataset folder '\(root)' does not exist")
        }
        guard isDir.boolValue else { throw ImageError("dataset '\(root)' is not a folder") }
        let entries: [String]
        do { entries = try fm.contentsOfDirectory(atPath: root) } catch {
            throw ImageError("cannot list dataset folder '\(root)': \(error.localizedDescription)")
        }
        let folders = entries.filter { name in
            var d: ObjCBool = false
            return !name.hasPrefix(".") && fm.fileExists(atPath: root + "/" + name, isDirectory: &d) && d.boolValue
        }.sorted()
        guard !folders.isEmpty else {
            let looseImages = entries.contains { ImageFolderDataset.isImageName($0) }
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
            let files = ((try? fm.contentsOfDirectory(atPath: path)) ?? [])
                .filter { !$0.hasPrefix(".") && ImageFolderDataset.isImageName($0) }
                .sorted()
            if files.isEmpty {
                problems.append("dataset folder '\(path)' (class \(label), \(labels.name(label))) has no .jpg, .jpeg or .png images")
                continue
            }
            let chosen = limitPerClass.map { Array(files.prefix(Swift.max(0, $0))) } ?? files
            let start = items.count
            for f in chosen { items.append(Item(path: path + "/" + f, label: label)) }
            classes.append(ClassFolder(folder: folder, label: label, items: start..<items.count))
        }
        if !problems.isEmpty { throw ImageError(problems.joined(separator: "\n")) }
        self.root = root
        self.classes = classes
        self.items = items
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
