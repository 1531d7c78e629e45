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

    /// One cell of a labelled figure: images side by side with a caption above them.
    public struct LabelledCell {
        public var images: [RGBImage]
        public var label: String
        public init(images: [RGBImage], label: String) { self.images = images; self.label = label }
    }

    /// Labelled cells (a source | start | result triplet and its class, say) wrapped into as many
    /// columns as fit `maxWidth` and split into pages of at most `maxHeight`, so that a run of
    /// hundreds of samples is a few screen-sized pictures rather than one strip. Every page has
    /// the same columns; a page holds at least one cell. Captions are `BitmapFont` text at
    /// `labelScale`, cut with "..." to the cell's width.
    public static func pages(_ cells: [LabelledCell], gap: Int = 2, cellGap: Int = 12, maxWidth: Int = 1600,
                             maxHeight: Int = 1600, minCellSize: Int = 64, labelScale: Int = 2) -> [RGBImage] {
        guard let first = cells.lazy.flatMap(\.images).first else { return [] }
        let factor = Swift.max(1, (minCellSize + Swift.min(first.width, first.height) - 1)
                                   / Swift.max(1, Swift.min(first.width, first.height)))
        let cw = first.width * factor, ch = first.height * factor
        let perCell = cells.map(\.images.count).max()!
        let cellWidth = perCell * cw + (perCell - 1) * gap
        let labelHeight = BitmapFont.glyphHeight * labelScale + 2 * labelScale + 2
        let cellHeight = labelHeight + ch
        let columns = Swift.max(1, Swift.min(cells.count, (maxWidth + cellGap) / (cellWidth + cellGap)))
        let rowsPerPage = Swift.max(1, (maxHeight + cellGap) / (cellHeight + cellGap))
        let perPage = columns * rowsPerPage
        return stride(from: 0, to: cells.count, by: perPage).map { start in
            let page = cells[start..<Swift.min(start + perPage, cells.count)]
            let rows = (page.count + columns - 1) / columns
            var image = RGBImage(width: columns * cellWidth + (columns - 1) * cellGap,
                                 height: rows * cellHeight + (rows - 1) * cellGap, red: 255, green: 255, blue: 255)
            for (k, cell) in page.enumerated() {
                let x0 = (k % columns) * (cellWidth + cellGap), y0 = (k / columns) * (cellHeight + cellGap)
                BitmapFont.draw(BitmapFont.fit(cell.label, maxWidth: cellWidth, scale: labelScale), into: &image,
                                x: x0, y: y0 + labelScale, scale: labelScale)
                for (i, im) in cell.images.enumerated() {
                    image.paste(im.scaledUp(by: factor), x: x0 + i * (cw + gap), y: y0 + labelHeight)
                }
            }
            return image
        }
    }

    /// `make(rows:)` with each row's label written to its left (the class of a generation row),
    /// vertically centred, cut with "..." past `maxLabelWidth` pixels.
    public static func make(rows: [[RGBImage]], rowLabels: [String], gap: Int = 2, minCellSize: Int = 64,
                            labelScale: Int = 2, maxLabelWidth: Int = 240) -> RGBImage {
        precondition(rowLabels.count == rows.count)
        let grid = make(rows: rows, gap: gap, minCellSize: minCellSize)
        guard grid.width > 0 else { return grid }
        let labels = rowLabels.map { BitmapFont.fit($0, maxWidth: maxLabelWidth, scale: labelScale) }
        let labelWidth = labels.map { BitmapFont.width($0, scale: labelScale) }.max()! + 4 * labelScale
        var image = RGBImage(width: labelWidth + grid.width, height: grid.height, red: 255, green: 255, blue: 255)
        image.paste(grid, x: labelWidth, y: 0)
        let rowHeight = (grid.height + gap) / rows.count - gap
        for (r, label) in labels.enumerated() {
            let y = r * (rowHeight + gap) + (rowHeight - BitmapFont.glyphHeight * labelScale) / 2
            BitmapFont.draw(label, into: &image, x: labelScale, y: y, scale: labelScale)
        }
        return image
    }
}

extension RGBImage {
    /// Copies `image` into this one with its top-left corner at (x, y); it must fit.
    public mutating func paste(_ image: RGBImage, x: Int, y: Int) {
        precondition(x >= 0 && y >= 0 && x + image.width <= width && y + image.height <= height)
        for row in 0..<image.height {
            let d = 3 * ((y + row) * width + x), s = 3 * row * image.width
            pixels.replaceSubrange(d..<(d + 3 * image.width), with: image.pixels[s..<(s + 3 * image.width)])
        }
    }
}
