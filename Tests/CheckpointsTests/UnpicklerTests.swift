import Foundation
import XCTest
@testable import Checkpoints

/// The unpickler against pickles that CPython itself wrote at every protocol (0-5).
final class UnpicklerTests: XCTestCase {
    func render(_ v: PickleValue) -> String {
        switch v {
        case .none: return "None"
        case .bool(let b): return b ? "True" : "False"
        case .int(let i): return String(i)
        case .float(let d): return "\(d)"
        case .string(let s): return "'\(s)'"
        case .tuple(let t): return "(" + t.items.map(render).joined(separator: ", ") + ")"
        case .list(let l): return "[" + l.items.map(render).joined(separator: ", ") + "]"
        case .dict(let d): return "{" + d.entries.map { render($0.key) + ": " + render($0.value) }.joined(separator: ", ") + "}"
        default: return "<\(v.kind)>"
        }
    }

    func testPlainPicklesOfEveryProtocol() throws {
        let x300 = String(repeating: "x", count: 300)
        let expected = "{'ints': [0, 1, -1, 255, 256, 65535, 65536, -2147483648, 2147483648, 4611686018427387904, -9223372036854775808], "
            + "'floats': [0.5, -1e+300, 3.0], 'strs': ['', 'a', '\u{fc}n\u{ef}code \u{2713}', '\(x300)'], "
            + "'tuple': (1, (2, 3), ()), 'consts': [True, False, None], 'nested': {'k': {'j': [[]]}}, "
            + "'shared_a': [1, 2], 'shared_b': [1, 2]}"
        for proto in 0...5 {
            var u = Unpickler(ByteReader(try Fixtures.bytes("plain_protocol\(proto).pkl")), at: 0, context: "p\(proto)") { _ in .none }
            let value = try u.load()
            XCTAssertEqual(render(value), expected, "protocol \(proto)")
            guard case .dict(let d) = value, case .list(let a)? = d["shared_a"], case .list(let b)? = d["shared_b"] else {
                return XCTFail("protocol \(proto): shape")
            }
            XCTAssertTrue(a === b, "protocol \(proto): the memo must share the list")
        }
    }

    func testLegacyMagicNumberIsABigInt() throws {
        var u = Unpickler(ByteReader(try Fixtures.bytes("madry_legacy.pt")), at: 0, context: "magic") { _ in .none }
        guard case .bigInt(let bytes) = try u.load() else { return XCTFail("expected a big int") }
        XCTAssertEqual(bytes, LegacyFormat.magic)
        XCTAssertEqual(u.position, 15)
    }

    func testHugeLengthsAreErrorsNotTraps() throws {
        for pkl in [Data([0x80, 0x04, 0x95]) + Data(repeating: 0xff, count: 8),         // FRAME
                    Data([0x80, 0x04, 0x8d]) + Data(repeating: 0x7f, count: 8) + Data([0x2e]),  // BINUNICODE8
                    Data([0x80, 0x02, 0x58, 0xff, 0xff, 0xff, 0xff, 0x2e])] {      // BINUNICODE
            var u = Unpickler(ByteReader(pkl), at: 0, context: "t") { _ in .none }
            XCTAssertThrowsError(try u.load())
        }
    }

    func testHalfPrecisionConversion() {
        XCTAssertEqual(halfToFloat(0x3c00), 1)
        XCTAssertEqual(halfToFloat(0xc000), -2)
        XCTAssertEqual(halfToFloat(0x7bff), 65504)
        XCTAssertEqual(halfToFloat(0x0001), Float(sign: .plus, exponent: -24, significand: 1))
        XCTAssertEqual(halfToFloat(0x8000).sign, .minus)
        XCTAssertEqual(halfToFloat(0x7c00), .infinity)
        XCTAssertTrue(halfToFloat(0x7e00).isNaN)
    }
}
