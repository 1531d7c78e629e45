import XCTest
final class ResNetEngineTestsPlaceholder: XCTestCase { func testTargetBuilds() {} }
