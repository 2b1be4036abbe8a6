import Faultline
import FaultlineTestSupport
import Foundation
import XCTest
#if canImport(Glibc)
import Glibc
#endif

/// Any signature through the worker pool: argument records into a read-only
/// area of the channel, result records back under the same keyed checks,
/// and init run once in the helper. Checked against plain C calls.
final class PoolSignatureTests: XCTestCase {
    private func pool(_ symbol: String, _ signature: String, initializer: String? = nil, workers: Int = 2) throws -> WorkerPool {
        try WorkerPool(library: Fixtures.victimsLibrary, symbol: symbol, signature: Signature(parsing: signature),
                       initializer: initializer, configuration: .init(workers: workers))
    }

    /// The victim itself, called in this process through dlsym.
    private func native<T>(_ symbol: String, as type: T.Type) throws -> T {
        let address = try XCTUnwrap(Fixtures.address(symbol), symbol)
        return unsafeBitCast(address, to: type)
    }

    func testScalarsStringsAndBytesRoundTripAgainstPlainCalls() throws {
        typealias Mix = @convention(c) (Double, UnsafePointer<CChar>) -> Double
        let mix = try native("fl_sig_mix", as: Mix.self)
        let texts = ["", "abc", String(repeating: "x", count: 100), "naïve"]
        let outcomes = try pool("fl_sig_mix", "double(double, string)").run(arguments: texts.enumerated().map { [.double(Double($0.offset) + 0.5), .string($0.element)] })
        for (index, text) in texts.enumerated() {
            XCTAssertEqual(outcomes[index], .returned(.double(mix(Double(index) + 0.5, text)), out: []), text)
        }
        typealias U64 = @convention(c) (UInt64) -> UInt64
        let u64 = try native("fl_sig_u64", as: U64.self)
        let extremes: [UInt64] = [0, 1, UInt64(Int64.max), UInt64.max]
        let unsigned = try pool("fl_sig_u64", "uint64(uint64)").run(arguments: extremes.map { [.uint64($0)] })
        XCTAssertEqual(Array(unsigned), extremes.map { .returned(.uint64(u64($0)), out: []) })
        typealias AddI8 = @convention(c) (Int8, Int8) -> Int8
        let add = try native("fl_sig_add_i8", as: AddI8.self)
        let small = try pool("fl_sig_add_i8", "int8(int8, int8)").run(arguments: [[.int8(100), .int8(100)], [.int8(-128), .int8(-1)]])
        XCTAssertEqual(Array(small), [.returned(.int8(add(100, 100)), out: []), .returned(.int8(add(-128, -1)), out: [])])
        typealias Float2 = @convention(c) (Float, Double) -> Float
        let f = try native("fl_sig_f", as: Float2.self)
        let floats = try pool("fl_sig_f", "float(float, double)").run(arguments: [[.float(1.25), .double(-3)]])
        XCTAssertEqual(floats[0], .returned(.float(f(1.25, -3)), out: []))
    }

    func testOneMebibyteBuffersAndOutputBuffers() throws {
        let big = [UInt8]((0..<(1 << 20)).map { UInt8(truncatingIfNeeded: $0 &* 7) })
        let expected = big.reduce(Int64(0)) { $0 + Int64($1) }
        let sums = try pool("fl_sig_sum_bytes", "int64(bytes)").run(arguments: Array(repeating: [.bytes(big)], count: 6))
        XCTAssertEqual(Array(sums), Array(repeating: .returned(.int64(expected), out: []), count: 6))
        let filled = try pool("fl_sig_fill", "void(string, out_string[8])").run(arguments: [[.string("hi")], [.string("abcdefghij")]])
        XCTAssertEqual(Array(filled), [.returned(.void, out: [.string("hi!")]), .returned(.void, out: [.string("abcdefg")])])
        let reversed = try pool("fl_sig_reverse", "void(bytes, out_bytes[4])").run(arguments: [[.bytes([1, 2, 3])]])
        XCTAssertEqual(reversed[0], .returned(.void, out: [.bytes([3, 2, 1, 0])]))
    }

    func testACrashWithASignatureBlamesOnlyItsInput() throws {
        let words = ["ok", "crash", "fine", "crash", "x"]
        let outcomes = try pool("fl_sig_crash_on", "int32(string)").run(arguments: words.map { [.string($0)] })
        for (word, outcome) in zip(words, outcomes) {
            if word == "crash" {
                XCTAssertEqual(outcome.signal, .segmentationFault, word)
            } else {
                XCTAssertEqual(outcome, .returned(.int32(Int32(word.utf8.count)), out: []), word)
            }
        }
    }

    func testInitRunsOnceBeforeAnyCallAndItsFailureIsTyped() throws {
        // fl_sig_touch bumps a counter; as init (void -> int32 would be wrong), use a victim returning 0.
        let touched = try pool("fl_sig_touched", "int32()", initializer: "fl_init_returns_zero_after_touch", workers: 2)
        let outcomes = try touched.run(arguments: Array(repeating: [], count: 50))
        XCTAssertEqual(Set(outcomes.map(\.value)), [.int32(1)], "every call sees the state init set up, once")
        XCTAssertThrowsError(try pool("fl_sig_touched", "int32()", initializer: "fl_init_returns_7")) { error in
            XCTAssertEqual(error as? PoolError, .initFailed(InitFailure(initializer: "fl_init_returns_7", reason: .returned(7))))
            XCTAssertEqual("\(error)", "init 'fl_init_returns_7' returned 7")
        }
        XCTAssertThrowsError(try pool("fl_sig_touched", "int32()", initializer: "fl_init_crashes")) { error in
            XCTAssertEqual("\(error)", "init 'fl_init_crashes' crashed: SIGSEGV at 0x0")
        }
        XCTAssertThrowsError(try pool("fl_sig_touched", "int32()", initializer: "no_such_init")) { error in
            XCTAssertEqual(error as? LoadError, .symbolNotFound(symbol: "no_such_init", library: Fixtures.victimsLibrary))
        }
    }

    func testArgumentsThatDoNotFitTheSignatureAreRefusedBeforeAnyCall() throws {
        let pool = try pool("fl_sig_strlen", "int32(string)")
        XCTAssertThrowsError(try pool.run(arguments: [[.string("a")], [.int32(3)]]))
        XCTAssertThrowsError(try pool.run(arguments: [[.string("a\u{0}b")]]))
        XCTAssertEqual(Array(try pool.run(arguments: [[.string("four")]])), [.returned(.int32(4), out: [])])
    }
}
