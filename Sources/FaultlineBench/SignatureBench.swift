import Faultline
import FaultlineBenchResult
#if canImport(Glibc)
import Glibc
#endif

/// Calls through the signature path against baselines measured in the same
/// run: the guard's `call(arguments:)` of `double(double, double)` against a
/// plain C call of the same function; the pool's `run(arguments:)` of
/// `int32(string)` on 100-byte strings (calls per second); and of
/// `int64(bytes)` on 1 MiB buffers against `memcpy` of the same bytes here.
enum SignatureBench {
    /// Strings of this many bytes for the `int32(string)` figure.
    static let stringLength = 100
    /// Buffers of this many bytes for the `int64(bytes)` figure.
    static let bufferLength = 1 << 20

    /// Every figure; a figure that cannot be measured gets a note instead.
    static func measure(library: String, workers: Int, budget: Budget) -> SignatureFigures {
        var figures = SignatureFigures()
        figures.workers = workers
        do {
            let signature = try Signature(parsing: "double(double, double)")
            let function = try NativeFunction(library: library, symbol: "fl_cli_add_d", signature: signature)
            figures.plainCallNs = plainCall(function.address, seconds: budget.seconds(0.5))
            figures.guardSingleCallNs = try guardCall(function, seconds: budget.seconds(0.5))
            figures.guardCallNs = try guardBatch(function, seconds: budget.seconds(1))
        } catch {
            figures.guardNote = "not available: \(error)"
        }
        do {
            figures.poolStringCallsPerSecond = try poolStrings(library: library, workers: workers, seconds: budget.seconds(2))
        } catch {
            figures.poolStringNote = "not available: \(error)"
        }
        figures.memcpyBytesPerSecond = memcpyRate(seconds: budget.seconds(0.5))
        do {
            figures.poolBytesPerSecond = try poolBytes(library: library, workers: workers, seconds: budget.seconds(2))
        } catch {
            figures.poolBytesNote = "not available: \(error)"
        }
        return figures
    }

    /// Median over 5 rounds of the nanoseconds per call of `round`, which makes `count` calls.
    private static func perCall(seconds: Double, count: Int, _ round: () throws -> Void) rethrows -> Double {
        var samples: [Double] = []
        let start = benchNow()
        while samples.count < 5 || Double(benchNow() - start) / 1e9 < seconds {
            let before = benchNow()
            try round()
            samples.append(Double(benchNow() - before) / Double(count))
        }
        return benchMedian(samples)
    }

    /// A plain C call through a function pointer, in a loop whose result is kept.
    static func plainCall(_ address: UnsafeRawPointer, seconds: Double) -> Double {
        typealias Add = @convention(c) (Double, Double) -> Double
        let add = unsafeBitCast(address, to: Add.self)
        var sink = 0.0
        let count = 100_000
        let result = perCall(seconds: seconds, count: count) {
            var x = 0.5
            for _ in 0..<count { x = add(x, 1e-9) }
            sink += x
        }
        if sink.isNaN { BenchLog.write("bench: unexpected NaN") }
        return result
    }

    /// `GuardStrategy.call(arguments:)`, one call at a time, without backtraces.
    static func guardCall(_ function: NativeFunction, seconds: Double) throws -> Double {
        let strategy = GuardStrategy(function, captureBacktrace: false)
        let count = 10_000
        return try perCall(seconds: seconds, count: count) {
            var x = 0.5
            for _ in 0..<count {
                guard case .returned(.double(let y), _) = try strategy.call(arguments: [.double(x), .double(1e-9)]) else {
                    throw BenchFailure("fl_cli_add_d did not return a double")
                }
                x = y
            }
        }
    }

    /// `GuardStrategy.call(argumentLists:)` on batches of 4096 argument lists (built once;
    /// encoding, the calls and reading every outcome are timed).
    static func guardBatch(_ function: NativeFunction, seconds: Double) throws -> Double {
        let strategy = GuardStrategy(function, captureBacktrace: false)
        let count = 4096
        let lists: [[Value]] = (0..<count).map { [.double(Double($0)), .double(1e-9)] }
        var sink = 0.0
        let result = try perCall(seconds: seconds, count: count) {
            let outcomes = try strategy.call(argumentLists: lists)
            guard case .returned(.double(let y), _) = outcomes[count - 1] else {
                throw BenchFailure("fl_cli_add_d did not return a double")
            }
            sink += y
        }
        if sink.isNaN { BenchLog.write("bench: unexpected NaN") }
        return result
    }

    /// Calls per second of `int32(string)` on the pool, in runs of 50,000 inputs.
    static func poolStrings(library: String, workers: Int, seconds: Double) throws -> Double {
        let pool = try WorkerPool(library: library, symbol: "fl_sig_strlen", signature: Signature(parsing: "int32(string)"),
                                  configuration: .init(workers: workers))
        defer { pool.shutdown() }
        let text = String(repeating: "s", count: stringLength)
        let inputs = [[Value]](repeating: [.string(text)], count: 50_000)
        _ = try pool.run(arguments: Array(inputs.prefix(1000)))
        let nanoseconds = try perCall(seconds: seconds, count: inputs.count) {
            let outcomes = try pool.run(arguments: inputs)
            guard outcomes.count == inputs.count, outcomes.last?.value == .int32(Int32(stringLength)) else {
                throw BenchFailure("fl_sig_strlen returned something else than \(stringLength)")
            }
        }
        return 1e9 / nanoseconds
    }

    /// Bytes per second of `int64(bytes)` on the pool, in runs of 16 buffers of 1 MiB.
    static func poolBytes(library: String, workers: Int, seconds: Double) throws -> Double {
        let pool = try WorkerPool(library: library, symbol: "fl_sig_sum_bytes", signature: Signature(parsing: "int64(bytes)"),
                                  configuration: .init(workers: workers))
        defer { pool.shutdown() }
        let buffer = [UInt8](repeating: 1, count: bufferLength)
        let inputs = [[Value]](repeating: [.bytes(buffer)], count: 16)
        _ = try pool.run(arguments: Array(inputs.prefix(2)))
        let nanoseconds = try perCall(seconds: seconds, count: inputs.count) {
            let outcomes = try pool.run(arguments: inputs)
            guard outcomes.last?.value == .int64(Int64(bufferLength)) else {
                throw BenchFailure("fl_sig_sum_bytes returned something else than \(bufferLength)")
            }
        }
        return Double(bufferLength) * 1e9 / nanoseconds
    }

    /// Bytes per second of `memcpy` of 1 MiB from one buffer to another (both resident).
    static func memcpyRate(seconds: Double) -> Double {
        let source = UnsafeMutableRawPointer.allocate(byteCount: bufferLength, alignment: 64)
        let target = UnsafeMutableRawPointer.allocate(byteCount: bufferLength, alignment: 64)
        defer {
            source.deallocate()
            target.deallocate()
        }
        memset(source, 1, bufferLength)
        memset(target, 0, bufferLength)
        let count = 16
        var sink = 0
        let nanoseconds = perCall(seconds: seconds, count: count) {
            for index in 0..<count {
                source.storeBytes(of: UInt8(truncatingIfNeeded: index), toByteOffset: (index * 4099) % bufferLength, as: UInt8.self)
                copy(target, source, bufferLength)
                sink &+= Int(touch(target, index))
            }
        }
        if sink == Int.min { BenchLog.write("bench: unexpected sink") }
        return Double(bufferLength) * 1e9 / nanoseconds
    }
}

/// `memcpy` behind a call the optimizer cannot see through, so that copies whose target is
/// read only in part are still made whole.
@inline(never)
func copy(_ target: UnsafeMutableRawPointer, _ source: UnsafeRawPointer, _ count: Int) {
    memcpy(target, source, count)
}

/// One byte of a copy, read after it was made (keeps the copy observable).
@inline(never)
func touch(_ target: UnsafeRawPointer, _ index: Int) -> UInt8 {
    target.load(fromByteOffset: (index * 4099) % SignatureBench.bufferLength, as: UInt8.self)
}

/// A measurement that saw a wrong result: the figure would mean nothing.
struct BenchFailure: Error, CustomStringConvertible {
    /// What was wrong.
    var description: String
    /// Creates the failure.
    init(_ description: String) { self.description = description }
}
