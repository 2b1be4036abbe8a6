import Faultline
import XCTest

/// The bucket key and the severity as pure functions of a fault.
final class BucketTests: XCTestCase {
    private func frame(_ symbol: String?, image: String = "/lib/libparse.so", offset: UInt64 = 0x100) -> Frame {
        Frame(address: 0x7f00_0000_0000 + offset, symbol: symbol, offset: 4, image: image, buildID: "abcd", imageOffset: offset)
    }

    private func fault(_ frames: [Frame], signal: Signal = .segmentationFault, code: Int32 = 1, address: UInt64? = 0,
                       access: Fault.Access? = .write, stackPointer: UInt64? = 0x7ffe_0000_0000, message: String? = nil) -> Fault {
        Fault(signal: signal, code: code, address: address, access: access, message: message, stackPointer: stackPointer,
              backtrace: frames)
    }

    func testTheKeyIgnoresAddressesAndKeepsTheTopThreeSignificantFrames() {
        let frames = [frame("parse_header"), frame("read_file"), frame("main_loop"), frame("run")]
        let a = fault(frames, address: 0x10)
        var b = fault(frames.map { var f = $0; f.address += 0x1000_0000; return f }, address: 0x7fff_0000_0000)
        b.access = .write
        XCTAssertEqual(a.bucket, b.bucket)
        XCTAssertEqual(Bucket.keyText(for: a), "SIGSEGV|1|write|parse_header|read_file|main_loop")
        XCTAssertTrue(a.bucket.hasPrefix("fl1-"))
        XCTAssertEqual(a.bucket.count, 20)
        // Another frame below the top three does not matter; another top frame, access or signal does.
        XCTAssertEqual(a.bucket, fault(frames.dropLast() + [frame("other")]).bucket)
        XCTAssertNotEqual(a.bucket, fault([frame("parse_body")] + frames.dropFirst()).bucket)
        XCTAssertNotEqual(a.bucket, fault(frames, access: .read).bucket)
        XCTAssertNotEqual(a.bucket, fault(frames, signal: .busError).bucket)
    }

    func testRuntimeFramesAreDroppedUnlessNothingElseIsLeft() {
        let libc = "/lib/x86_64-linux-gnu/libc.so.6"
        let aborted = fault([frame("__pthread_kill_implementation", image: libc), frame("raise", image: libc), frame("abort", image: libc),
                             frame("free", image: libc), frame("release", offset: 0x200), frame("parse", offset: 0x300)],
                            signal: .abort, code: -6, address: nil, access: nil, message: "free(): double free detected in tcache 2")
        XCTAssertEqual(Bucket.significantFrames(of: aborted), ["release", "parse"])
        XCTAssertEqual(aborted.severity.crashClass, "HeapError")
        let onlyLibc = fault([frame("__strlen_avx2", image: libc)], access: .read)
        XCTAssertEqual(Bucket.significantFrames(of: onlyLibc), ["__strlen_avx2"])
    }

    func testAbortsInOneFunctionAreTwoBugsWhenTheirCausesDiffer() {
        let libc = "/lib/x86_64-linux-gnu/libc.so.6"
        func aborted(_ message: String?, in function: String = "rb_do") -> Fault {
            fault([frame("raise", image: libc), frame("abort", image: libc), frame(function, offset: 0x200)],
                  signal: .abort, code: -6, address: nil, access: nil, message: message)
        }
        let assertion = aborted("bugs.c:19: rb_do: Assertion `which == 99' failed.")
        let doubleFree = aborted("free(): double free detected in tcache 2")
        let otherAssertion = aborted("bugs.c:40: rb_do: Assertion `n > 0' failed.")
        let exception = aborted("uncaught exception of type std::runtime_error")
        let otherException = aborted("uncaught exception of type std::bad_alloc")
        let plain = aborted(nil)
        let keys = [assertion, doubleFree, otherAssertion, exception, otherException, plain].map(\.bucket)
        XCTAssertEqual(Set(keys).count, keys.count, "each cause its own key: \(keys)")
        XCTAssertEqual(Bucket.keyText(for: assertion), "SIGABRT|sent|-|assert:which == 99|rb_do")
        // The same assertion moved to another line, or another heap check's text, is the same bug.
        XCTAssertEqual(assertion.bucket, aborted("bugs.c:25: rb_do: Assertion `which == 99' failed.").bucket)
        XCTAssertEqual(doubleFree.bucket, aborted("free(): invalid pointer").bucket)
        // A fault that is not an abort has no cause in its key.
        XCTAssertEqual(Bucket.keyText(for: fault([frame("rb_do")])), "SIGSEGV|1|write|rb_do")
    }

    func testRecursionAndCloneSuffixesCollapse() {
        let looped = fault([frame("a"), frame("b"), frame("a"), frame("b"), frame("a"), frame("c"), frame("c"), frame("d")])
        // a b a b a c c d: the repeated pair and the repeated frame count once.
        XCTAssertEqual(Bucket.significantFrames(of: looped), ["a", "b", "a"])
        XCTAssertEqual(Bucket.significantFrames(of: fault([frame("a"), frame("b"), frame("a"), frame("b"), frame("c")])), ["a", "b", "c"])
        XCTAssertEqual(Bucket.significantFrames(of: fault([frame("x"), frame("x"), frame("x"), frame("y"), frame("z")])), ["x", "y", "z"])
        XCTAssertEqual(Bucket.significantFrames(of: fault([frame("f.constprop.0"), frame("g.isra.0"), frame("h.cold")])), ["f", "g", "h"])
        // A stack overflow is keyed by its cycle, wherever the stack ran out.
        let sp: UInt64 = 0x7ffe_0000_8000
        let one = fault([frame("even"), frame("odd"), frame("even"), frame("odd")], address: sp - 8, stackPointer: sp)
        let other = fault([frame("odd"), frame("even"), frame("odd"), frame("even")], address: sp - 8, stackPointer: sp)
        XCTAssertTrue(one.isStackOverflow)
        XCTAssertEqual(one.severity.crashClass, "StackOverflow")
        XCTAssertEqual(one.bucket, other.bucket)
        XCTAssertEqual(Bucket.significantFrames(of: one), ["even", "odd"])
    }

    func testUnnamedFramesAreKeyedByImageBuildIDAndOffset() {
        let unnamed = fault([frame(nil, image: "/usr/lib/libz.so.1", offset: 0xab81), frame("inflate"), frame("uncompress2")])
        XCTAssertEqual(Bucket.significantFrames(of: unnamed), ["libz.so.1@abcd+0xab81", "inflate", "uncompress2"])
    }

    func testSeverityClasses() {
        let f = [frame("f")]
        XCTAssertEqual(fault(f, address: 0x10, access: .read).severity, Severity(crashClass: "SourceAvNearNull", exploitability: .notExploitable))
        XCTAssertEqual(fault(f, address: 0x5000_0000, access: .read).severity.crashClass, "SourceAv")
        XCTAssertEqual(fault(f, address: 0x5000_0000, access: .write).severity, Severity(crashClass: "DestAv", exploitability: .exploitable))
        XCTAssertEqual(fault(f, address: 0x5000_0000, access: .exec).severity.crashClass, "SegFaultOnPc")
        XCTAssertEqual(fault(f, code: 0x80, address: nil, access: nil).severity.crashClass, "AccessViolation")
        XCTAssertEqual(fault(f, signal: .abort, code: -6, address: nil, access: nil,
                             message: "*** stack smashing detected ***: terminated").severity.crashClass, "StackGuard")
        XCTAssertEqual(fault(f, signal: .abort, code: -6, address: nil, access: nil,
                             message: "*** buffer overflow detected ***: terminated").severity.crashClass, "SafeFunctionCheck")
        XCTAssertEqual(fault(f, signal: .abort, code: -6, address: nil, access: nil).severity.crashClass, "AbortSignal")
        XCTAssertEqual(fault(f, signal: .floatingPointException, access: nil).severity.crashClass, "FPE")
        XCTAssertEqual(fault(f, signal: .illegalInstruction, access: nil).severity.crashClass, "BadInstruction")
    }
}
