import XCTest
final class CheckpointsTestsPlaceholder: XCTestCase { func testTargetBuilds() {} }
