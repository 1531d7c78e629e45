import Foundation
import ImageIO

private let report = ProcessInfo.processInfo.environment["FUZZ_REPORT"] != nil
/// The pixel limit lowered from 64 to 4 megapixels (unless set): the check is the same, and inputs
/// stay fast and far under -rss_limit_mb (a 64-megapixel image is 192 MB, with ASan's quarantine more).
private let limitSet: Void = { setenv(ImageFile.maxPixelsVariable, "4194304", 0); return () }()

/// JPEG bytes through `ImageFile.decode` (libpng / libjpeg-turbo behind CImageCodecs). Inputs
/// without the JPEG signature are rejected (-1: not added to the corpus); the other codec has its
/// own target.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    _ = limitSet
    let bytes = Array(UnsafeBufferPointer(start: data, count: size))
    let signature: [UInt8] = [0xFF, 0xD8, 0xFF]
    guard bytes.starts(with: signature) else { return -1 }
    let image: RGBImage
    do { image = try ImageFile.decode(bytes, name: "fuzz-input") } catch {
        if report { FileHandle.standardError.write(Data("refused: \(error)\n".utf8)) }
        return 0
    }
    if report { FileHandle.standardError.write(Data("decoded \(image.width)x\(image.height)\n".utf8)) }
    precondition(image.width > 0 && image.height > 0 && image.pixels.count == image.width * image.height * 3,
                 "decoded \(image.width)x\(image.height) with \(image.pixels.count) bytes")
    return 0
}
