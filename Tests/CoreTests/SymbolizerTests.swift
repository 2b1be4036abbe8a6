import CFaultline
import FaultlineTestSupport
import Faultline
import XCTest
#if canImport(Glibc)
import Glibc
#endif

/// One symbolizer: the pool's helper and this process name a frame the same way,
/// and named frames cross from the helper with explicit lengths.
final class SymbolizerTests: XCTestCase {
    func testThePoolAndThisProcessNameAFrameIdentically() throws {
        let pool = try WorkerPool(library: Fixtures.victimsLibrary, symbol: "raise_a_fault", configuration: .init(workers: 1))
        let fault = try XCTUnwrap(try pool.run([4])[0].fault)
        let remote = try XCTUnwrap(fault.backtrace.first { $0.symbol == "raise_a_fault" }, "\(fault.backtrace)")
        let function = try Fixtures.victim("raise_a_fault")
        let start = UInt64(UInt(bitPattern: unsafeBitCast(function.pointer, to: UnsafeRawPointer.self)))
        let local = Symbolizer.frame(for: start + (remote.offset ?? 0))
        XCTAssertEqual(local.symbol, remote.symbol)
        XCTAssertEqual(local.offset, remote.offset)
        XCTAssertEqual(local.image, remote.image)
    }

    func testDemanglingIsTheCSymbolizers() {
        XCTAssertEqual(Symbolizer.demangle("_ZN3foo3barEv"), "foo::bar()")
        XCTAssertEqual(Symbolizer.demangle("$sSiD"), "Swift.Int")
        XCTAssertEqual(Symbolizer.demangle("plain_c_name"), "plain_c_name")
        let long = "_ZN" + String(repeating: "x", count: 0) + "5outer" + String(repeating: "4abcd", count: 300) + "Ev"
        XCTAssertGreaterThan(Symbolizer.demangle(long).count, 1000, "a long name is not cut")
    }

    func testNamedFramesKeepEveryByteOfLongNamesAndOddPaths() {
        let symbol = String(repeating: "s", count: 1000)
        let image = "/tmp/a\tb\nc/lib.so"
        var bytes: [UInt8] = []
        func append<T: FixedWidthInteger>(_ value: T) { withUnsafeBytes(of: value) { bytes.append(contentsOf: $0) } }
        append(UInt64(0x1234)); append(UInt64(0x2a)); append(UInt32(3))
        append(UInt32(symbol.utf8.count)); append(UInt32(image.utf8.count))
        bytes += Array(symbol.utf8) + Array(image.utf8)
        append(UInt64(0x99)); append(UInt64(0)); append(UInt32(0)); append(UInt32(0)); append(UInt32(0))
        var frames: [(UInt64, String?, String?)] = []
        bytes.withUnsafeBufferPointer { buffer in
            buffer.withMemoryRebound(to: CChar.self) { chars in
                var cursor = 0
                var frame = fl_named_frame()
                while fl_frames_next(chars.baseAddress, chars.count, &cursor, &frame) != 0 {
                    let name = frame.has_symbol != 0 ? String(decoding: UnsafeRawBufferPointer(start: frame.symbol, count: Int(frame.symbol_length)), as: UTF8.self) : nil
                    let path = frame.found != 0 ? String(decoding: UnsafeRawBufferPointer(start: frame.image, count: Int(frame.image_length)), as: UTF8.self) : nil
                    frames.append((frame.address, name, path))
                }
            }
        }
        XCTAssertEqual(frames.count, 2)
        XCTAssertEqual(frames.first?.0, 0x1234)
        XCTAssertEqual(frames.first?.1, symbol)
        XCTAssertEqual(frames.first?.2, image)
        XCTAssertEqual(frames.last?.0, 0x99)
        XCTAssertNil(frames.last?.1)
    }
}
