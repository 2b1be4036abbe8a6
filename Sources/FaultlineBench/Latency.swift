import FaultlineBenchResult
import CFaultline

/// The median of some values (the mean of the middle two for an even count); 0 when empty.
func benchMedian(_ values: [Double]) -> Double {
    guard !values.isEmpty else { return 0 }
    let sorted = values.sorted()
    let middle = sorted.count / 2
    return sorted.count % 2 == 1 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2
}

/// The monotonic clock in nanoseconds.
@inline(__always)
func benchNow() -> Int64 { fl_now_ns() }

/// Runs `call` over `inputs` (cycling) for about `seconds`, in `rounds`
/// rounds, timing batches of calls. The batch size is chosen so that one
/// batch lasts about two microseconds (1 for calls slower than that), so the
/// clock's own cost does not swamp cheap calls. Throughput is the median of
/// the rounds' calls per second. `call` returns true when the call faulted.
func measureCalls(inputs: [Int32], seconds: Double, rounds: Int = 5, minimumCalls: Int = 20,
                  _ call: (Int32) throws -> Bool) rethrows -> WorkloadFigures {
    precondition(!inputs.isEmpty)
    // Calibrate: how long does one call take, on average, over one pass of a few inputs?
    let probeCount = Swift.min(inputs.count, 64)
    let probeStart = benchNow()
    for index in 0..<probeCount { _ = try call(inputs[index]) }
    let perCall = Double(Swift.max(1, benchNow() - probeStart)) / Double(probeCount)
    let batch = Swift.max(1, Int(2_000 / perCall))

    let roundNanoseconds = Int64(seconds / Double(rounds) * 1e9)
    var samples: [Double] = []
    var rates: [Double] = []
    var calls = 0
    var faults = 0
    var position = 0
    for _ in 0..<rounds {
        let roundStart = benchNow()
        var roundCalls = 0
        repeat {
            let batchStart = benchNow()
            for _ in 0..<batch {
                if try call(inputs[position]) { faults += 1 }
                position += 1
                if position == inputs.count { position = 0 }
            }
            let batchEnd = benchNow()
            samples.append(Double(batchEnd - batchStart) / Double(batch))
            roundCalls += batch
        } while benchNow() - roundStart < roundNanoseconds || roundCalls < Swift.max(1, minimumCalls / rounds)
        rates.append(Double(roundCalls) / (Double(benchNow() - roundStart) / 1e9))
        calls += roundCalls
    }
    return WorkloadFigures(callsPerSecond: benchMedian(rates), latency: LatencySummary(samples)!, calls: calls,
                       batch: batch, faults: faults)
}

/// Runs `body` `rounds` times and returns the median of what it returned
/// (for C floors that return a mean per operation).
func medianOf(rounds: Int, _ body: () -> Double) -> Double {
    benchMedian((0..<rounds).map { _ in body() })
}
