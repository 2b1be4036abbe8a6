import CFaultline
import FaultlineTestSupport
import Faultline
import FaultlineHarness
import XCTest
#if canImport(Glibc)
import Glibc
#endif

/// Any signature through fork (project issue 11): every type of the grammar
/// comes back from a forked child exactly as a plain C call of the same victim
/// returns it; crashes keep their details; an initializer runs in each child
/// (or once, under the guard) and its failure is a typed error, not an outcome.
final class ForkSignatureTests: XCTestCase {
    /// The symbol's address, for a plain C call through a typed function pointer.
    private func symbol(_ name: String) throws -> UnsafeMutableRawPointer {
        try XCTUnwrap(Fixtures.address(name), name)
    }

    private func function(_ name: String, _ signature: String) throws -> NativeFunction {
        try Fixtures.function(name, signature)
    }

    private func initializer(_ name: String) throws -> Initializer {
        try Initializer(library: Fixtures.victimsLibrary, symbol: name)
    }

    /// Through a forked child, with a deadline so that no child can outlive the test.
    private func fork(_ name: String, _ signature: String, _ arguments: [Value], initializer: Initializer? = nil) throws -> Outcome {
        try ForkStrategy(function(name, signature), timeout: .seconds(60), initializer: initializer).call(arguments: arguments)
    }

    func testEveryScalarTypeMatchesAPlainCCall() throws {
        let addI8 = unsafeBitCast(try symbol("fl_sig_add_i8"), to: (@convention(c) (Int8, Int8) -> Int8).self)
        for (a, b) in [(Int8(3), Int8(4)), (127, 1), (-128, -1)] {
            XCTAssertEqual(try fork("fl_sig_add_i8", "int8(int8, int8)", [.int8(a), .int8(b)]), .returned(.int8(addI8(a, b)), out: []))
        }
        let negI16 = unsafeBitCast(try symbol("fl_sig_neg_i16"), to: (@convention(c) (Int16) -> Int16).self)
        for a: Int16 in [1, -32768, 32767] {
            XCTAssertEqual(try fork("fl_sig_neg_i16", "int16(int16)", [.int16(a)]), .returned(.int16(negI16(a)), out: []))
        }
        let mulI32 = unsafeBitCast(try symbol("fl_sig_mul_i32"), to: (@convention(c) (Int32, Int32) -> Int32).self)
        for (a, b) in [(Int32(6), Int32(7)), (.max, 2)] {
            XCTAssertEqual(try fork("fl_sig_mul_i32", "int(int, int)", [.int32(a), .int32(b)]), .returned(.int32(mulI32(a, b)), out: []))
        }
        let subI64 = unsafeBitCast(try symbol("fl_sig_sub_i64"), to: (@convention(c) (Int64, Int64) -> Int64).self)
        for (a, b) in [(Int64.max, Int64(-1)), (.min, 1), (10, 3)] {
            XCTAssertEqual(try fork("fl_sig_sub_i64", "int64(int64, int64)", [.int64(a), .int64(b)]), .returned(.int64(subI64(a, b)), out: []))
        }
        let u8 = unsafeBitCast(try symbol("fl_sig_u8"), to: (@convention(c) (UInt8) -> UInt8).self)
        for a: UInt8 in [0, 255] {
            XCTAssertEqual(try fork("fl_sig_u8", "uint8(uint8)", [.uint8(a)]), .returned(.uint8(u8(a)), out: []))
        }
        let u16 = unsafeBitCast(try symbol("fl_sig_u16"), to: (@convention(c) (UInt16) -> UInt16).self)
        XCTAssertEqual(try fork("fl_sig_u16", "uint16(uint16)", [.uint16(0x1234)]), .returned(.uint16(u16(0x1234)), out: []))
        let u32 = unsafeBitCast(try symbol("fl_sig_u32"), to: (@convention(c) (UInt32) -> UInt32).self)
        XCTAssertEqual(try fork("fl_sig_u32", "uint32(uint32)", [.uint32(.max)]), .returned(.uint32(u32(.max)), out: []))
        let u64 = unsafeBitCast(try symbol("fl_sig_u64"), to: (@convention(c) (UInt64) -> UInt64).self)
        for a in [UInt64.max, 1 << 63, 9_007_199_254_740_993] {
            XCTAssertEqual(try fork("fl_sig_u64", "uint64(uint64)", [.uint64(a)]), .returned(.uint64(u64(a)), out: []))
        }
        let f = unsafeBitCast(try symbol("fl_sig_f"), to: (@convention(c) (Float, Double) -> Float).self)
        XCTAssertEqual(try fork("fl_sig_f", "float(float, double)", [.float(1.25), .double(0.5)]), .returned(.float(f(1.25, 0.5)), out: []))
        let d = unsafeBitCast(try symbol("fl_sig_d"), to: (@convention(c) (Double) -> Double).self)
        for a in [-0.1, 1e300, .leastNonzeroMagnitude] {
            XCTAssertEqual(try fork("fl_sig_d", "double(double)", [.double(a)]), .returned(.double(d(a)), out: []))
        }
        let not = unsafeBitCast(try symbol("fl_sig_not"), to: (@convention(c) (Bool) -> Bool).self)
        for b in [true, false] {
            XCTAssertEqual(try fork("fl_sig_not", "bool(bool)", [.bool(b)]), .returned(.bool(not(b)), out: []))
        }
        let i8of = unsafeBitCast(try symbol("fl_sig_i8_of"), to: (@convention(c) (Int32) -> Int8).self)
        XCTAssertEqual(try fork("fl_sig_i8_of", "int8(int32)", [.int32(0x1ff)]), .returned(.int8(i8of(0x1ff)), out: []))
    }

    func testStringsAndBytesUpToAMegabyte() throws {
        let strlenC = unsafeBitCast(try symbol("fl_sig_strlen"), to: (@convention(c) (UnsafePointer<CChar>) -> Int32).self)
        let mix = unsafeBitCast(try symbol("fl_sig_mix"), to: (@convention(c) (Double, UnsafePointer<CChar>) -> Double).self)
        for text in ["", "héllo wörld", String(repeating: "x", count: 1 << 20)] {
            XCTAssertEqual(try fork("fl_sig_strlen", "int(string)", [.string(text)]), .returned(.int32(strlenC(text)), out: []))
            XCTAssertEqual(try fork("fl_sig_mix", "double(double, string)", [.double(0.5), .string(text)]),
                           .returned(.double(mix(0.5, text)), out: []))
        }
        let sum = unsafeBitCast(try symbol("fl_sig_sum_bytes"), to: (@convention(c) (UnsafeRawPointer?, Int) -> Int64).self)
        let megabyte = (0..<(1 << 20)).map { UInt8(truncatingIfNeeded: $0 &* 31) }
        for bytes in [[], [0, 255, 0, 255], megabyte] as [[UInt8]] {
            let expected = bytes.withUnsafeBytes { sum($0.baseAddress, $0.count) }
            XCTAssertEqual(try fork("fl_sig_sum_bytes", "long(bytes)", [.bytes(bytes)]), .returned(.int64(expected), out: []))
        }
    }

    func testOutputBuffersIncludingAMegabyte() throws {
        XCTAssertEqual(try fork("fl_sig_fill", "void(string, out_string[16])", [.string("hello")]),
                       .returned(.void, out: [.string("hello!")]))
        XCTAssertEqual(try fork("fl_sig_fill", "void(string, out_string[4])", [.string("hello")]),
                       .returned(.void, out: [.string("hel")]))
        XCTAssertEqual(try fork("fl_sig_write_invalid_utf8", "void(out_string[8])", []),
                       .returned(.void, out: [.bytes([0xff, 0xfe])]))
        // A megabyte in and a megabyte out, compared with the plain C call.
        typealias Reverse = @convention(c) (UnsafeRawPointer?, Int, UnsafeMutableRawPointer, Int) -> Void
        let reverse = unsafeBitCast(try symbol("fl_sig_reverse"), to: Reverse.self)
        let input = (0..<(1 << 20)).map { UInt8(truncatingIfNeeded: $0 &* 7 &+ 3) }
        var plain = [UInt8](repeating: 0, count: 1 << 20)
        input.withUnsafeBytes { source in plain.withUnsafeMutableBytes { reverse(source.baseAddress, source.count, $0.baseAddress!, $0.count) } }
        XCTAssertEqual(try fork("fl_sig_reverse", "void(bytes, out_bytes[1048576])", [.bytes(input)]),
                       .returned(.void, out: [.bytes(plain)]))
    }

    func testVoidAndTheManyArgumentsCall() throws {
        XCTAssertEqual(try fork("fl_sig_touch", "void()", []), .returned(.void, out: []))
        typealias Many = @convention(c) (Int8, UInt16, Int32, Int64, UInt64, Float, Double, Bool,
                                         UnsafePointer<CChar>, Double, Double, Double, Double, Int32) -> Double
        let many = unsafeBitCast(try symbol("fl_sig_many"), to: Many.self)
        let expected = many(-1, 2, -3, 4_000_000_000_000, 5, 0.25, 6.5, true, "seven", 8, 9, 10, 11, 12)
        XCTAssertEqual(try fork("fl_sig_many",
                                "double(int8, uint16, int32, int64, uint64, float, double, bool, string, double, double, double, double, int32)",
                                [.int8(-1), .uint16(2), .int32(-3), .int64(4_000_000_000_000), .uint64(5), .float(0.25), .double(6.5),
                                 .bool(true), .string("seven"), .double(8), .double(9), .double(10), .double(11), .int32(12)]),
                       .returned(.double(expected), out: []))
    }

    func testACrashWithASignatureKeepsItsDetails() throws {
        let outcome = try fork("fl_sig_crash_on", "int32(string)", [.string("crash")])
        XCTAssertEqual(outcome.signal, .segmentationFault)
        XCTAssertEqual(outcome.fault?.address, 0)
        XCTAssertTrue(outcome.fault?.backtrace.contains { $0.symbol == "fl_sig_crash_on" } == true, "\(outcome)")
        XCTAssertEqual(try fork("fl_sig_crash_on", "int32(string)", [.string("fine")]), .returned(.int32(4), out: []))
        XCTAssertEqual(try fork("fl_exit", "int(int)", [.int32(9)]), .exited(status: 9))
        let late = try ForkStrategy(function("fl_infinite_loop", "int(int)"), timeout: .milliseconds(200)).call(arguments: [.int32(1)])
        guard case .timedOut = late else { return XCTFail("\(late)") }
    }

    func testADestroyedRecordThroughASignatureIsCorruptedWithTheTypedValue() throws {
        let outcome = try fork("fl_scribble_shared", "int32(int32)", [.int32(-5)])
        if case .corrupted(let detail) = outcome {
            XCTAssertTrue(detail.contains("the call returned 5"), detail)
        } else {
            XCTAssertEqual(outcome, .returned(.int32(5), out: []))
        }
        XCTAssertEqual(try fork("fl_child_segfaults", "int32(int32)", [.int32(-5)]), .returned(.int32(5), out: []))
    }

    func testArgumentsThatDoNotFitAreRejectedBeforeAnyFork() throws {
        XCTAssertThrowsError(try fork("fl_sig_mix", "double(double, string)", [.double(1)])) { error in
            XCTAssertEqual((error as? InputError)?.kind, .wrongCount(expected: 2, found: 1))
        }
    }

    // MARK: - Initializers

    func testInitializerStateIsSeenByTheCallInEachChild() throws {
        let setup = try initializer("fl_init_setup")
        XCTAssertEqual(setup.description, "fl_init_setup")
        let read = try Fixtures.victim("fl_init_read")
        // Without it the child sees the parent's state (this process never runs it).
        XCTAssertEqual(try ForkStrategy(read, timeout: .seconds(60)).call(1), .returned(1))
        let strategy = ForkStrategy(read, timeout: .seconds(60), initializer: setup)
        XCTAssertEqual(try strategy.call(1), .returned(43))
        XCTAssertEqual(try strategy.call(-2), .returned(40))
        XCTAssertEqual(try fork("fl_init_state", "int32()", [], initializer: setup), .returned(.int32(42), out: []))
        XCTAssertEqual(try fork("fl_init_state", "int32()", []), .returned(.int32(0), out: []))
        // A crash after a successful initializer is the call's outcome.
        let crash = try ForkStrategy(Fixtures.victim("fl_null_write"), timeout: .seconds(60), initializer: setup).call(1)
        XCTAssertEqual(crash.signal, .segmentationFault)
        // Each child runs it exactly once, on top of whatever this process inherited
        // (the guard's tests may have run it here).
        let counted = try Fixtures.victim("fl_init_runs")
        let inherited = try XCTUnwrap(try ForkStrategy(counted, timeout: .seconds(60)).call(0).returnedValue)
        let runs = ForkStrategy(counted, timeout: .seconds(60), initializer: try initializer("fl_init_count_runs"))
        XCTAssertEqual(try runs.call(5), .returned(inherited + 1005))
        XCTAssertEqual(try runs.call(6), .returned(inherited + 1006))
    }

    private func initFailure(_ initName: String, timeout: Duration = .seconds(60)) throws -> InitFailure? {
        let strategy = ForkStrategy(try Fixtures.victim("fl_init_read"), timeout: timeout, initializer: try initializer(initName))
        do {
            let outcome = try strategy.call(1)
            XCTFail("\(initName): \(outcome)")
            return nil
        } catch let failure as InitFailure {
            return failure
        }
    }

    func testAFailingInitializerIsATypedErrorNotAnOutcome() throws {
        let seven = try XCTUnwrap(try initFailure("fl_init_returns_7"))
        XCTAssertEqual(seven, InitFailure(initializer: "fl_init_returns_7", reason: .returned(7)))
        XCTAssertEqual(seven.description, "init 'fl_init_returns_7' returned 7")

        let crash = try XCTUnwrap(try initFailure("fl_init_crashes"))
        XCTAssertEqual(crash.reason, .signaled(.segmentationFault, address: 0))
        XCTAssertEqual(crash.description, "init 'fl_init_crashes' crashed: SIGSEGV at 0x0")

        let exit = try XCTUnwrap(try initFailure("fl_init_exits"))
        XCTAssertEqual(exit.reason, .exited(status: 3))
        XCTAssertEqual(exit.description, "init 'fl_init_exits' exited with status 3")

        let hang = try XCTUnwrap(try initFailure("fl_init_hangs", timeout: .milliseconds(300)))
        guard case .timedOut(let after) = hang.reason else { return XCTFail("\(hang)") }
        XCTAssertGreaterThanOrEqual(after, .milliseconds(290))

        // The same through a signature call.
        XCTAssertThrowsError(try fork("fl_init_state", "int32()", [], initializer: try initializer("fl_init_returns_7"))) { error in
            XCTAssertEqual((error as? InitFailure)?.reason, .returned(7))
        }
        XCTAssertEqual(ProcessTable.descendants(of: getpid()), [])
    }

    func testGuardRunsTheInitializerOnceInThisProcess() throws {
        let count = try initializer("fl_init_count_runs")
        let runs = GuardStrategy(try Fixtures.victim("fl_init_runs"), initializer: count)
        XCTAssertEqual(try runs.call(1), .returned(1001))
        XCTAssertEqual(try runs.call(2), .returned(1002))
        XCTAssertEqual(try GuardStrategy(try Fixtures.victim("fl_init_runs"), initializer: count).call([3, 4]).map(\.returnedValue), [1003, 1004])
        let typed = GuardStrategy(try function("fl_init_runs", "int32(int32)"), initializer: count)
        XCTAssertEqual(try typed.call(arguments: [.int32(5)]), .returned(.int32(1005), out: []))
        // Without an initializer nothing runs it.
        XCTAssertEqual(try GuardStrategy(try Fixtures.victim("fl_init_runs")).call(6), .returned(1006))
    }

    func testGuardTurnsAFailingOrCrashingInitializerIntoTheSameError() throws {
        let read = try Fixtures.victim("fl_init_read")
        for _ in 0..<2 { // remembered: the second call throws the same error without running it again
            XCTAssertThrowsError(try GuardStrategy(read, initializer: try initializer("fl_init_returns_7")).call(1)) { error in
                XCTAssertEqual(error as? InitFailure, InitFailure(initializer: "fl_init_returns_7", reason: .returned(7)))
            }
            XCTAssertThrowsError(try GuardStrategy(read, initializer: try initializer("fl_init_crashes")).call(1)) { error in
                XCTAssertEqual((error as? InitFailure)?.description, "init 'fl_init_crashes' crashed: SIGSEGV at 0x0")
            }
        }
    }
}
