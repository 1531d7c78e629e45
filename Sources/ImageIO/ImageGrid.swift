/// Figures: rows x columns of equal-size images separated by a small gap.
public enum ImageGrid {
    /// Lays out `rows` (each a list of images of one common size) with `gap` pixels of
    /// `background` between cells and around none. Tiny images are enlarged by nearest neighbour
    /// by `scale`, or, when `scale` is nil, by the smallest integer that makes a cell at least
    /// `minCellSize` pixels on its shorter side. Short rows are padded with background.
    public static func make(rows: [[RGBImage]], gap: Int = 2, scale: Int? = nil, minCellSize: Int = 64,
                            background: (UInt8, UInt8, UInt8) = (255, 255, 255)) -> RGBImage {
        let all = rows.flatMap { $0 }
        guard let first = all.first else { return RGBImage(width: 0, height: 0, pixels: []) }
        for im in all {
            precondition(im.width == first.width && im.height == first.height,
                         "ImageGrid needs equal sizes: \(im.width)x\(im.height) vs \(first.width)x\(first.height)")
        }
        let factor = scale ?? Swift.max(1, (minCellSize + Swift.min(first.width, first.height) - 1)
                                              / Swift.max(1, Swift.min(first.width, first.height)))
        let cw = first.width * factor, ch = first.height * factor
        let columns = rows.map(\.count).max() ?? 0
        let W = columns * cw + Swift.max(0, columns - 1) * gap
        let H = rows.count * ch + Swift.max(0, rows.count - 1) * gap
        var p = RGBImage(width: W, height: H, red: background.0, green: background.1, blue: background.2).pixels
        for (r, row) in rows.enumerated() {
            for (c, im0) in row.enumerated() {
                let im = im0.scaledUp(by: factor)
                let x0 = c * (cw + gap), y0 = r * (ch + gap)
                for y in 0..<ch {
                    let d = 3 * ((y0 + y) * W + x0), s = 3 * y * cw
                    for i in 0..<(3 * cw) { p[d + i] = im.pixels[s + i] }
                }
            }
        }
        return RGBImage(width: W, height: H, pixels: p)
    }

    /// Images in reading order, `columns` per row.
    public static func make(_ images: [RGBImage], columns: Int, gap: Int = 2, scale: Int? = nil,
                            minCellSize: Int = 64) -> RGBImage {
        precondition(columns > 0)
        let rows = stride(from: 0, to: images.count, by: columns).map {
            Array(images[$0..<Swift.min($0 + columns, images.count)])
        }
        return make(rows: rows, gap: gap, scale: scale, minCellSize: minCellSize)
    }
}
