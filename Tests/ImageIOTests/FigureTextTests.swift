@testable import ImageIO
import RobustSynthCore
import XCTest

/// The bitmap font and the figures that carry text: glyphs well formed and covering every class
/// name shipped, text drawn where and as wide as said, and a rows figure of many samples wrapped
/// into screen-sized pages holding every sample once.
final class FigureTextTests: XCTestCase {
    func testEveryPrintableCharacterHasAWellFormedGlyph() {
        XCTAssertEqual(BitmapFont.glyphs.count, 95)
        for code in 32...126 {
            let c = Character(UnicodeScalar(code)!)
            guard let rows = BitmapFont.glyphs[c] else { XCTFail("no glyph for '\(c)'"); continue }
            XCTAssertEqual(rows.count, 7, "'\(c)'")
            XCTAssertTrue(rows.allSatisfy { $0 < 32 }, "'\(c)' is wider than 5 pixels")
            XCTAssertEqual(rows.allSatisfy { $0 == 0 }, c == " ", "'\(c)': only the space is blank")
        }
        // Distinct shapes: no two characters drawn alike.
        XCTAssertEqual(Set(BitmapFont.glyphs.values).count, 95)
    }

    func testItCoversEveryImageNetClassName() {
        let names = ClassLabels.imageNet.names
        XCTAssertEqual(names.count, 1000)
        let missing = Set(names.joined()).filter { BitmapFont.glyphs[$0] == nil }
        XCTAssertEqual(missing, [], "characters of ImageNet class names without a glyph")
    }

    func testTextIsDrawnAtItsPlaceWithItsWidth() {
        var image = RGBImage(width: 40, height: 20, red: 255, green: 255, blue: 255)
        BitmapFont.draw("Hi", into: &image, x: 3, y: 2, scale: 2)
        var inked = [(Int, Int)]()
        for y in 0..<20 { for x in 0..<40 where image.pixels[3 * (y * 40 + x)] == 0 { inked.append((x, y)) } }
        // 'H' and 'i' have 17 + 9 font pixels ('#' in their rows), each a 2x2 square.
        XCTAssertEqual(inked.count, (17 + 9) * 4)
        XCTAssertEqual(inked.map(\.0).min(), 3)
        XCTAssertEqual(inked.map(\.0).max(), 3 + BitmapFont.width("Hi", scale: 2) - 1 - 2 * 1)  // 'i' has no ink in its last column
        XCTAssertEqual(inked.map(\.1).min(), 2)
        XCTAssertEqual(inked.map(\.1).max(), 2 + 14 - 1)
        XCTAssertEqual(BitmapFont.width("Hi", scale: 2), 22)
        // Outside the image nothing is written, and nothing traps.
        BitmapFont.draw("clipped", into: &image, x: 35, y: 17, scale: 3)
        BitmapFont.draw("x", into: &image, x: -4, y: -4, scale: 1)
    }

    func testLongTextIsCutToFit() {
        XCTAssertEqual(BitmapFont.fit("goldfish", maxWidth: 200, scale: 2), "goldfish")
        let cut = BitmapFont.fit("great white shark, white shark", maxWidth: 120, scale: 2)
        XCTAssertEqual(cut, "great w...")
        XCTAssertLessThanOrEqual(BitmapFont.width(cut, scale: 2), 120)
    }

    func testManyTripletsWrapIntoPagesThatFitAScreen() {
        // 200 source | start | result triplets of 16x16 digits, shown at 64x64, each with a caption.
        func image(_ v: UInt8) -> RGBImage { RGBImage(width: 16, height: 16, red: v, green: v, blue: v) }
        let cells = (0..<200).map { i in
            ImageGrid.LabelledCell(images: [image(10), image(20), image(30)], label: "\(i): to \(i % 10)")
        }
        let pages = ImageGrid.pages(cells, maxWidth: 1600, maxHeight: 1600)
        let cellWidth = 3 * 64 + 2 * 2, cellHeight = 64 + (7 * 2 + 2 * 2 + 2)
        let columns = (1600 + 12) / (cellWidth + 12), rows = (1600 + 12) / (cellHeight + 12)
        XCTAssertEqual(columns, 7)
        XCTAssertEqual(pages.count, Int((200.0 / Double(columns * rows)).rounded(.up)))
        for page in pages {
            XCTAssertLessThanOrEqual(page.width, 1600)
            XCTAssertLessThanOrEqual(page.height, 1600)
            XCTAssertEqual(page.width, columns * cellWidth + (columns - 1) * 12)
        }
        // Every cell's three images are on some page, once: count the result images' grey.
        let results = pages.map { page in stride(from: 0, to: page.pixels.count, by: 3).filter { page.pixels[$0] == 30 }.count }
        XCTAssertEqual(results.reduce(0, +), 200 * 64 * 64)
        // And each caption is ink above its cell, in the caption band only.
        let first = pages[0]
        let band = (0..<cellHeight - 64).flatMap { y in (0..<cellWidth).map { 3 * (y * first.width + $0) } }
        XCTAssertTrue(band.contains { first.pixels[$0] == 0 }, "no caption drawn above the first cell")
        let imagesArea = (cellHeight - 64..<cellHeight).flatMap { y in (0..<cellWidth).map { 3 * (y * first.width + $0) } }
        XCTAssertFalse(imagesArea.contains { first.pixels[$0] == 0 }, "caption ink over the images")
    }

    func testRowLabelsGoLeftOfTheirRows() {
        func image(_ v: UInt8) -> RGBImage { RGBImage(width: 16, height: 16, red: v, green: v, blue: v) }
        let rows = [[image(50), image(50)], [image(60)]]
        let plain = ImageGrid.make(rows: rows, gap: 2)
        let labelled = ImageGrid.make(rows: rows, rowLabels: ["tench", "goldfish"])
        XCTAssertEqual(labelled.height, plain.height)
        XCTAssertEqual(labelled.width, plain.width + BitmapFont.width("goldfish", scale: 2) + 8)
        // The grid itself is unchanged, to the right of the labels.
        let offset = labelled.width - plain.width
        for y in 0..<plain.height {
            let a = Array(labelled.pixels[(3 * (y * labelled.width + offset))..<(3 * (y + 1) * labelled.width)])
            let b = Array(plain.pixels[(3 * y * plain.width)..<(3 * (y + 1) * plain.width)])
            XCTAssertEqual(a, b, "row \(y)")
        }
    }
}
