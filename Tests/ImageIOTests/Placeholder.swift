import XCTest
final class ImageIOTestsPlaceholder: XCTestCase { func testTargetBuilds() {} }
