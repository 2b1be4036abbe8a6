import CFaultline
import FaultlineTestSupport
import Faultline
import XCTest
#if canImport(Glibc)
import Glibc
#endif

/// One symbolizer: a frame from the pool's helper and the same address in this
/// process get the same name, and located frames cross from the helper with explicit lengths.
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
        XCTAssertEqual(local.imageOffset, remote.imageOffset)
        XCTAssertEqual(local.buildID, remote.buildID)
        XCTAssertNotNil(remote.buildID)
    }

    func testDemanglingIsTheCSymbolizers() {
        XCTAssertEqual(Symbolizer.demangle("_ZN3foo3barEv"), "foo::bar()")
        XCTAssertEqual(Symbolizer.demangle("$sSiD"), "Swift.Int")
        XCTAssertEqual(Symbolizer.demangle("plain_c_name"), "plain_c_name")
        let long = "_ZN" + String(repeating: "x", count: 0) + "5outer" + String(repeating: "4abcd", count: 300) + "Ev"
        XCTAssertGreaterThan(Symbolizer.demangle(long).count, 1000, "a long name is not cut")
    }

    func testLocatedFramesKeepEveryByteOfBuildIDsAndOddPaths() {
        let buildID: [UInt8] = Array(0..<20)
        let image = "/tmp/a\tb\nc/" + String(repeating: "d", count: 1000) + "/lib.so"
        var bytes: [UInt8] = []
        func append<T: FixedWidthInteger>(_ value: T) { withUnsafeBytes(of: value) { bytes.append(contentsOf: $0) } }
        append(UInt64(0x1234)); append(UInt64(0x1000)); append(UInt32(1))
        append(UInt32(buildID.count)); append(UInt32(image.utf8.count))
        bytes += buildID + Array(image.utf8)
        append(UInt64(0x99)); append(UInt64(0)); append(UInt32(0)); append(UInt32(0)); append(UInt32(0))
        var frames: [(UInt64, UInt64, [UInt8], String?)] = []
        bytes.withUnsafeBufferPointer { buffer in
            buffer.withMemoryRebound(to: CChar.self) { chars in
                var cursor = 0
                var frame = fl_located_frame()
                while fl_frames_next(chars.baseAddress, chars.count, &cursor, &frame) != 0 {
                    let id = Array(UnsafeBufferPointer(start: frame.build_id, count: Int(frame.build_id_length)))
                    let path = frame.found != 0 ? String(decoding: UnsafeRawBufferPointer(start: frame.image, count: Int(frame.image_length)), as: UTF8.self) : nil
                    frames.append((frame.address, frame.bias, id, path))
                }
            }
        }
        XCTAssertEqual(frames.count, 2)
        XCTAssertEqual(frames.first?.0, 0x1234)
        XCTAssertEqual(frames.first?.1, 0x1000)
        XCTAssertEqual(frames.first?.2, buildID)
        XCTAssertEqual(frames.first?.3, image)
        XCTAssertEqual(frames.last?.0, 0x99)
        XCTAssertNil(frames.last?.3)
        // A truncated packet decodes nothing past its end.
        bytes.removeLast(10)
        var count = 0
        bytes.withUnsafeBufferPointer { buffer in
            buffer.withMemoryRebound(to: CChar.self) { chars in
                var cursor = 0
                var frame = fl_located_frame()
                while fl_frames_next(chars.baseAddress, chars.count, &cursor, &frame) != 0 { count += 1 }
            }
        }
        XCTAssertEqual(count, 1)
    }
}
