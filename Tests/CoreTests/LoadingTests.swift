import Faultline
import FaultlineTestSupport
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
            .returned(4), .exited(status: 0), .timedOut(.milliseconds(1500)),
            .returned(.double(1.5), out: [.string("a\tb"), .bytes([0, 255, 7])]), .returned(.int64(-1 << 40), out: []),
            .returned(.uint64(UInt64.max), out: []), .returned(.void, out: []), .returned(.bool(true), out: []),
            .corrupted(detail: "the channel's check failed"),
            .signaled(Fault(signal: .segmentationFault, code: 1, address: 0,
                            backtrace: [Frame(address: 0x1234, symbol: "raise_a_fault", offset: 0x2a, image: "/x/libv.so")])),
        ]
        for outcome in outcomes {
            let data = try JSONEncoder().encode(outcome)
            XCTAssertEqual(try JSONDecoder().decode(Outcome.self, from: data), outcome)
        }
        // The streaming form `faultline call` prints decodes to the same outcome, and carries its input first.
        for outcome in outcomes + [.signaled(Fault(signal: .abort, code: -6, address: nil, backtrace: [Frame(address: 7)], truncated: true))] {
            let line = outcome.jsonLine(input: -9)
            XCTAssertTrue(line.hasPrefix("{\"input\":-9,\"outcome\":\"\(outcome.kind)\""), line)
            XCTAssertEqual(try JSONDecoder().decode(Outcome.self, from: Data(line.utf8)), outcome, line)
            // What the CLI appends to its buffer is the same line.
            var bytes: [UInt8] = []
            outcome.appendJSONLine(to: &bytes, inputJSON: "-9", replay: .returned(1), extra: "\"memory_limit\":5")
            XCTAssertEqual(String(decoding: bytes, as: UTF8.self),
                           outcome.jsonLine(inputJSON: "-9", replay: .returned(1), extra: "\"memory_limit\":5") + "\n")
        }
        // Faults are printed once per distinct fault: the same addresses with other names are another text.
        let named = Outcome.signaled(Fault(signal: .segmentationFault, address: 0, backtrace: [Frame(address: 0x10, symbol: "one")]))
        let renamed = Outcome.signaled(Fault(signal: .segmentationFault, address: 0, backtrace: [Frame(address: 0x10, symbol: "two")]))
        XCTAssertTrue(named.jsonLine(input: 1).contains("\"one\""))
        XCTAssertTrue(renamed.jsonLine(input: 1).contains("\"two\""))
        XCTAssertTrue(named.jsonLine(input: 1).contains("\"one\""))
        let text = String(decoding: try JSONEncoder().encode(outcomes.first { $0.kind == "signaled" }!), as: UTF8.self)
        XCTAssertTrue(text.contains("\"signal\":\"SIGSEGV\""), text)
        XCTAssertTrue(text.contains("\"address\":\"0x0\""), text)
        XCTAssertTrue(text.contains("raise_a_fault+0x2a"), text)
    }
}

import Foundation

/// libunwind is loaded for our backtraces only: the process's own unwinder
/// (C++ exceptions, Swift) must stay the one it had.
final class UnwinderConfinementTests: XCTestCase {
    func testLibunwindDoesNotReplaceTheProcessUnwinder() throws {
        // A guarded fault with a backtrace makes sure libunwind is loaded.
        let fault = try XCTUnwrap(try GuardStrategy(Fixtures.victim("fl_null_write")).call(1).fault)
        // Without a walk the report holds only the faulting pc and is never cut at the call.
        XCTAssertTrue(fault.cutAtCall, "libunwind did not walk the stack: \(fault.backtrace)")
        let maps = try FileHandle(forReadingFrom: URL(fileURLWithPath: "/proc/self/maps"))
        defer { try? maps.close() }
        let mapped = String(decoding: try maps.readToEnd() ?? Data(), as: UTF8.self)
        XCTAssertTrue(mapped.contains("libunwind"), "libunwind is not loaded")
        guard let global = dlsym(UnsafeMutableRawPointer(bitPattern: 0), "_Unwind_RaiseException") else { return }
        let frame = Symbolizer.frame(for: UInt64(UInt(bitPattern: global)))
        XCTAssertFalse(frame.image?.contains("libunwind") ?? false, "_Unwind_RaiseException resolves to \(frame)")
    }

    func testCxxExceptionsStillWorkAndUncaughtOnesAbort() throws {
        XCTAssertEqual(try GuardStrategy(Fixtures.victim("fl_cxx_throw_catch")).call(100), .returned(100))
        XCTAssertEqual(try ForkStrategy(Fixtures.victim("fl_cxx_uncaught")).call(1).signal, .abort)
    }
}
