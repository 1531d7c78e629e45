import XCTest
final class CorePlaceholder: XCTestCase { func testTargetBuilds() {} }
