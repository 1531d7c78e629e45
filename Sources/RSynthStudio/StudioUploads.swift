import Foundation
import ImageIO

/// Images people give the studio (photos to translate or enlarge, an image and its painted
/// mask, a drawn sketch), kept in RUNS/data/ and used through the ordinary plugins by path.
/// An upload is at most `maxBytes`, must decode as a PNG or JPEG, and is stored re-encoded as
/// PNG under a name made only of letters, digits, '.', '-' and '_' (one or two folders deep, so
/// an image folder with one sub-folder per class can be built), never outside RUNS/data.
public enum StudioUploads {
    public static let maxBytes = 8 << 20

    public struct Refusal: Error, Equatable, CustomStringConvertible {
        public let status: Int
        public let description: String
    }

    /// `folder` ("photos" or "photos/cat") and `name` as the request gave them.
    public struct Stored: Codable, Equatable {
        /// The PNG written.
        public let path: String
        /// RUNS/data/FIRST, the folder an image-folder parameter (dataset-image) takes.
        public let folder: String
    }

    public static func store(_ bytes: [UInt8], folder: String, name: String, runs: String) -> Result<Stored, Refusal> {
        let parts = folder.split(separator: "/", omittingEmptySubsequences: false).map(String.init)
        guard (1...2).contains(parts.count), parts.allSatisfy(StudioPaths.isPlainName), StudioPaths.isPlainName(name) else {
            return .failure(Refusal(status: 400, description: "folder and name must be 1 or 2 folders and a file name of letters, digits, '.', '-' and '_', not starting with '.'"))
        }
        guard bytes.count <= maxBytes else {
            return .failure(Refusal(status: 413, description: "the upload is \(bytes.count) bytes, more than the limit of \(maxBytes)"))
        }
        let image: RGBImage
        do { image = try ImageFile.decode(bytes, name: name) } catch {
            return .failure(Refusal(status: 415, description: "\(error)"))
        }
        let dir = runs + "/data/" + parts.joined(separator: "/")
        let stem = (name as NSString).deletingPathExtension
        let path = dir + "/" + (stem.isEmpty ? name : stem) + ".png"
        do {
            try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
            // The folder is created here; a symbolic link planted in its place would lead out.
            guard let real = StudioPaths.realPath(dir), real.hasPrefix(runs + "/data/") else {
                return .failure(Refusal(status: 403, description: "the upload folder leads outside the runs folder (a symbolic link)"))
            }
            let file = real + "/" + (path as NSString).lastPathComponent
            try ImageFile.writePNG(image, to: file)
            return .success(Stored(path: file, folder: runs + "/data/" + parts[0]))
        } catch {
            return .failure(Refusal(status: 500, description: "cannot store the upload: \(error)"))
        }
    }
}
