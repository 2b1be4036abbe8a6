import Faultline
import XCTest

/// Bad input is a typed error that names the problem, never a crash.
final class LoadingTests: XCTestCase {
    func testMissingLibraryIsATypedError() {
        XCTAssertThrowsError(try NativeFunction(library: "/nonexistent/libnothing.so", symbol: "f")) { error in
            guard case LoadError.libraryNotLoadable(let path, _) = error else { return XCTFail("\(error)") }
            XCTAssertEqual(path, "/nonexistent/libnothing.so")
            XCTAssertTrue("\(error)".contains("/nonexistent/libnothing.so"))
        }
    }

    func testNotASharedObjectIsATypedError() {
        XCTAssertThrowsError(try NativeFunction(library: "/etc/hostname", symbol: "f")) { error in
            XCTAssertEqual((error as? LoadError).map { if case .libraryNotLoadable = $0 { true } else { false } }, true)
        }
    }

    func testMissingSymbolIsATypedError() {
        XCTAssertThrowsError(try NativeFunction(library: Fixtures.victimsLibrary, symbol: "no_such_function")) { error in
            XCTAssertEqual(error as? LoadError, .symbolNotFound(symbol: "no_such_function", library: Fixtures.victimsLibrary))
        }
    }

    func testOutcomeJSONRoundTrips() throws {
        let outcomes: [Outcome] = [
            .returned(4), .exited(status: 0), .timedOut(seconds: 1.5),
            .signaled(Fault(signal: .segmentationFault, code: 1, address: 0,
                            backtrace: [Frame(address: 0x1234, symbol: "raise_a_fault", offset: 0x2a, image: "/x/libv.so")])),
        ]
        for outcome in outcomes {
            let data = try JSONEncoder().encode(outcome)
            XCTAssertEqual(try JSONDecoder().decode(Outcome.self, from: data), outcome)
        }
        let text = String(decoding: try JSONEncoder().encode(outcomes[3]), as: UTF8.self)
        XCTAssertTrue(text.contains("\"signal\":\"SIGSEGV\""), text)
        XCTAssertTrue(text.contains("\"address\":\"0x0\""), text)
        XCTAssertTrue(text.contains("raise_a_fault+0x2a"), text)
    }
}

import Foundation
