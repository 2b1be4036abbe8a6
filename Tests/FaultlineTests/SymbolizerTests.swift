import CFaultline
import Faultline
import XCTest
#if canImport(Glibc)
import Glibc
#endif

/// One symbolizer: the pool's helper and this process name a frame the same way,
/// and named frames cross from the helper with explicit lengths.
final class SymbolizerTests: XCTestCase {
    func testDemanglingIsTheCSymbolizers() {
        XCTAssertEqual(Symbolizer.demangle("_ZN3foo3barEv"), "foo::bar()")
        XCTAssertEqual(Symbolizer.demangle("$sSiD"), "Swift.Int")
        XCTAssertEqual(Symbolizer.demangle("plain_c_name"), "plain_c_name")
        let long = "_ZN" + String(repeating: "x", count: 0) + "5outer" + String(repeating: "4abcd", count: 300) + "Ev"
        XCTAssertGreaterThan(Symbolizer.demangle(long).count, 1000, "a long name is not cut")
    }
}
