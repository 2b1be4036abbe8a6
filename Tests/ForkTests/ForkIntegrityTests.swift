import Faultline
import FaultlineTestSupport
import FaultlineHarness
import Foundation
import XCTest
#if canImport(Glibc)
import Glibc
#endif

/// The fork strategy cannot be fooled (project issue 10): a callee that writes
/// over its process's memory, writes into its descriptors, forks a child that
/// faults, or exits its thread never makes ForkStrategy report an outcome the
/// call did not produce. Where Faultline's record was destroyed the outcome is
/// `.corrupted`, never a guess.
///
/// Uses only the public API of `int f(int)` calls, so that the same file can
/// be run against an older tree to show which of these it gets wrong.
final class ForkIntegrityTests: XCTestCase {
    private func call(_ symbol: String, _ input: Int32, timeout: Duration? = .seconds(60)) throws -> Outcome {
        try ForkStrategy(Fixtures.victim(symbol), timeout: timeout).call(input)
    }

    /// Innocent inputs before and after a hostile one come back exact.
    private func assertInnocentAround(_ symbol: String, file: StaticString = #filePath, line: UInt = #line) throws {
        XCTAssertEqual(try call(symbol, 7), .returned(7), symbol, file: file, line: line)
        XCTAssertEqual(try call(symbol, 0), .returned(0), symbol, file: file, line: line)
        XCTAssertEqual(try call(symbol, 123_456), .returned(123_456), symbol, file: file, line: line)
    }

    /// The callee overwrites every shared mapping of its process (Faultline's
    /// result page included) and returns 5: that is a return of 5, or a call
    /// whose record was destroyed, never `exit(0)`.
    func testScribblingTheSharedPageIsNeverAnExit() throws {
        for _ in 0..<3 {
            let outcome = try call("fl_scribble_shared", -5)
            if case .corrupted(let detail) = outcome {
                XCTAssertTrue(detail.contains("returned 5"), detail)
                XCTAssertTrue(detail.contains("overwritten"), detail)
            } else {
                XCTAssertEqual(outcome, .returned(5))
            }
        }
        try assertInnocentAround("fl_scribble_shared")
    }

    /// Scribble, then fault: the process died of SIGSEGV, which is what is reported
    /// (or `.corrupted`), never an exit. The reporter does not depend on the
    /// shared page being intact, so the fault keeps its details.
    func testScribblingThenFaultingIsTheFault() throws {
        for _ in 0..<3 {
            let outcome = try call("fl_scribble_shared_then_fault", -5)
            if case .corrupted = outcome { continue }
            XCTAssertEqual(outcome.signal, .segmentationFault, "\(outcome)")
            XCTAssertEqual(outcome.fault?.address, 0, "\(outcome)")
        }
        try assertInnocentAround("fl_scribble_shared_then_fault")
    }

    /// The callee overwrites every private writable mapping but its stack
    /// (libc's data and GOT, the heap, Faultline's globals, glibc's rseq area)
    /// and returns 5: the child still records that return, with what it found
    /// destroyed. Never a wrong value, never an exit, never a crash of
    /// Faultline's own epilogue.
    func testScribblingPrivateMemoryIsCorruptedWithTheReturnedValue() throws {
        for _ in 0..<3 {
            let outcome = try call("fl_scribble_private", -5)
            guard case .corrupted(let detail) = outcome else { return XCTFail("\(outcome)") }
            XCTAssertTrue(detail.contains("returned 5"), detail)
            XCTAssertTrue(detail.contains("private memory"), detail)
        }
        try assertInnocentAround("fl_scribble_private")
    }

    /// Garbage written into every socket of the process changes nothing.
    func testWritingIntoSocketsChangesNothing() throws {
        XCTAssertEqual(try call("fl_write_into_sockets", -5), .returned(5))
        try assertInnocentAround("fl_write_into_sockets")
    }

    /// A grandchild that inherits the fault reporter and segfaults is not the call:
    /// the callee waited for it and returned 5.
    func testAGrandchildsFaultIsNotTheCalls() throws {
        for _ in 0..<3 {
            XCTAssertEqual(try call("fl_child_segfaults", -5), .returned(5))
        }
        XCTAssertEqual(try call("fl_child_crashes_later", -5), .returned(5))
        try assertInnocentAround("fl_child_segfaults")
    }

    /// pthread_exit() on the calling thread ends the child with status 0: an exit, not a return.
    func testPthreadExitIsExitZero() throws {
        XCTAssertEqual(try call("fl_pthread_exit", -5), .exited(status: 0))
        try assertInnocentAround("fl_pthread_exit")
    }

    /// The pool's workers use the same reporter: a worker's grandchild that
    /// faults must not be reported as the worker's crash.
    func testAGrandchildOfAPoolWorkerIsNotTheWorker() throws {
        let strategy = try ForkServerStrategy(library: Fixtures.victimsLibrary, symbol: "fl_child_segfaults", timeout: .seconds(30))
        defer { strategy.pool.shutdown() }
        XCTAssertEqual(try strategy.call(-5), .returned(5))
        XCTAssertEqual(try strategy.call(9), .returned(9))
    }

    /// A callee that scribbles over every shared mapping of its process, on one
    /// thread, while innocent calls run on another: the other calls' pages are
    /// never in the scribbler's process, so their outcomes stay exact.
    func testAScribblerOnAnotherThreadCannotChangeThisThreadsOutcomes() throws {
        let slow = ForkStrategy(try Fixtures.victim("fl_slow"), timeout: .seconds(60))
        let scribbler = ForkStrategy(try Fixtures.victim("fl_scribble_shared"), timeout: .seconds(60))
        let done = UnsafeMutablePointer<Int32>.allocate(capacity: 2) // [0]: stop, [1]: scribbler calls made
        done.initialize(repeating: 0, count: 2)
        defer { done.deallocate() }
        var thread = pthread_t()
        final class Box: @unchecked Sendable { let strategy: ForkStrategy; let done: UnsafeMutablePointer<Int32>
            init(_ strategy: ForkStrategy, _ done: UnsafeMutablePointer<Int32>) { self.strategy = strategy; self.done = done } }
        let box = Unmanaged.passRetained(Box(scribbler, done)).toOpaque()
        XCTAssertEqual(pthread_create(&thread, nil, { raw in
            let box = Unmanaged<Box>.fromOpaque(raw!).takeRetainedValue()
            while loadFlag(box.done) == 0 {
                _ = try? box.strategy.call(-5)
                storeFlag(box.done + 1, loadFlag(box.done + 1) + 1)
            }
            return nil
        }, box), 0)
        for index in 0..<15 {
            XCTAssertEqual(try slow.call(20 + Int32(index)), .returned(20 + Int32(index)))
        }
        storeFlag(done, 1)
        pthread_join(thread, nil)
        XCTAssertGreaterThan(done[1], 3, "the scribbler hardly ran")
    }

    /// 200 calls mixing hostile and innocent inputs: every innocent one exact,
    /// no hostile one reported as something it did not do, and nothing left behind.
    func testALongMixedRunLeavesNothingBehind() throws {
        let hostile = ["fl_scribble_shared", "fl_scribble_shared_then_fault", "fl_write_into_sockets",
                       "fl_child_segfaults", "fl_child_crashes_later", "fl_pthread_exit", "fl_thread_faults_later",
                       "fl_null_write"]
        var functions: [String: NativeFunction] = [:]
        for symbol in hostile { functions[symbol] = try Fixtures.victim(symbol) }
        for index in 0..<200 {
            let symbol = hostile[index % hostile.count]
            let strategy = ForkStrategy(functions[symbol]!, timeout: .seconds(60))
            if index % 2 == 0 {
                XCTAssertEqual(try strategy.call(Int32(index)), .returned(Int32(index)), "\(symbol)(\(index))")
                continue
            }
            let outcome = try strategy.call(-5)
            switch symbol {
            case "fl_scribble_shared":
                if case .corrupted = outcome { break }
                XCTAssertEqual(outcome, .returned(5), symbol)
            case "fl_scribble_shared_then_fault":
                if case .corrupted = outcome { break }
                XCTAssertEqual(outcome.signal, .segmentationFault, "\(symbol): \(outcome)")
            case "fl_pthread_exit":
                XCTAssertEqual(outcome, .exited(status: 0), symbol)
            case "fl_null_write":
                XCTAssertEqual(outcome.signal, .segmentationFault, "\(symbol): \(outcome)")
            default:
                XCTAssertEqual(outcome, .returned(5), symbol)
            }
        }
        let left = ProcessTable.descendants(of: getpid())
        XCTAssertEqual(left, [], "left behind: \(left)")
    }
}

/// Loads and stores of a flag two threads share (through raw memory, reloaded on every use).
private func loadFlag(_ pointer: UnsafeMutablePointer<Int32>) -> Int32 { UnsafeMutableRawPointer(pointer).load(as: Int32.self) }
private func storeFlag(_ pointer: UnsafeMutablePointer<Int32>, _ value: Int32) { UnsafeMutableRawPointer(pointer).storeBytes(of: value, as: Int32.self) 
    /// A callee that double-forks a daemon (setsid) leaves nothing running once its
    /// forked call returned: the child is a subreaper and sweeps what it adopted.
    func testADaemonDiesWithItsForkedCall() throws {
        XCTAssertEqual(try ForkStrategy(Fixtures.victim("fl_daemon"), timeout: .seconds(30)).call(-1), .returned(1))
        var left: [String] = []
        for _ in 0..<100 {
            left = ((try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []).filter { pid in
                pid.allSatisfy(\.isNumber) &&
                    (try? String(contentsOfFile: "/proc/\(pid)/comm", encoding: .utf8))?.hasPrefix("fl-daemon") == true &&
                    (try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8))?.contains(") Z") != true
            }
            if left.isEmpty { break }
            usleep(20_000)
        }
        XCTAssertEqual(left, [], "a daemon outlived its forked call")
    }
}
