import XCTest
final class HostPlaceholder: XCTestCase { func testTargetBuilds() {} }
