import FaultlineBenchResult
import CFaultline
import CFaultlineLab

/// How long each measurement runs: a share of the run's time budget.
/// Every duration in the bench is written for a 60-second run and scaled.
struct Budget: Sendable {
    /// The factor applied to the 60-second durations.
    var scale: Double

    /// Creates a budget for a run of about `seconds`.
    init(seconds: Double) { scale = seconds / 60 }

    /// `base` seconds of a 60-second run, scaled, and never under 20 ms.
    func seconds(_ base: Double) -> Double { Swift.max(0.02, base * scale) }
}

/// Measures the C floors of floors.c: the cost of each mechanism alone.
enum FloorBench {
    /// Runs every floor. `identity` must be a non-faulting callee, `faulting` one that faults with SIGSEGV.
    static func measure(identity: fl_function, faulting: fl_function, budget: Budget) -> Floors {
        var floors = Floors()
        floors.plainCall = cheapFloor(seconds: budget.seconds(0.5)) { fl_floor_plain_call_ns(identity, 1, $0) }
        floors.sigsetjmpCall = cheapFloor(seconds: budget.seconds(0.5)) { fl_floor_sigsetjmp_call_ns(identity, 1, $0) }
        floors.guardCall = cheapFloor(seconds: budget.seconds(0.5)) { fl_floor_guard_call_ns(identity, 1, 0, $0, nil) }
        floors.faultLongjmp = sampledFloor(seconds: budget.seconds(0.75), chunk: 1_000) {
            fl_floor_fault_longjmp_ns(faulting, 1, 0, $0, $1)
        }
        floors.faultLongjmpBacktrace = sampledFloor(seconds: budget.seconds(0.75), chunk: 1_000) {
            fl_floor_fault_longjmp_ns(faulting, 1, Int32(FL_CAPTURE_BACKTRACE), $0, $1)
        }
        // fork + waitpid is measured with the fork strategy, interleaved with it (see StrategyBench.forkPair).
        floors.faultDeath = sampledFloor(seconds: budget.seconds(1.0), chunk: 20) {
            fl_floor_fault_death_ns(faulting, $0, $1)
        }
        floors.pipeRoundTrip = sampledFloor(seconds: budget.seconds(1.0), chunk: 2_000) {
            fl_floor_pipe_round_trip_ns($0, $1)
        }
        return floors
    }

    /// A floor too cheap for per-operation samples: calibrates an iteration
    /// count so that one round lasts about `seconds / 7`, runs 7 rounds, and
    /// returns the median of their means. Nil when the floor failed.
    static func cheapFloor(seconds: Double, _ floor: (Int64) -> Double) -> Double? {
        let rounds = 7
        var iterations: Int64 = 10_000
        var mean = floor(iterations)
        guard mean > 0 else { return nil }
        iterations = Swift.max(1_000, Int64(seconds / Double(rounds) * 1e9 / mean))
        var means: [Double] = []
        for _ in 0..<rounds {
            mean = floor(iterations)
            guard mean > 0 else { return nil }
            means.append(mean)
        }
        return benchMedian(means)
    }

    /// A floor with one sample per operation: calls it with `chunk`
    /// operations at a time until `seconds` have passed (at least once).
    static func sampledFloor(seconds: Double, chunk: Int,
                             _ floor: (Int64, UnsafeMutablePointer<Int64>) -> Double) -> LatencySummary? {
        var buffer = [Int64](repeating: 0, count: chunk)
        var samples: [Double] = []
        let start = benchNow()
        // A first, unrecorded chunk warms caches and prepares the thread.
        let warmup = buffer.withUnsafeMutableBufferPointer { floor(Int64(Swift.min(chunk, 10)), $0.baseAddress!) }
        guard warmup >= 0 else { return nil }
        repeat {
            let mean = buffer.withUnsafeMutableBufferPointer { floor(Int64(chunk), $0.baseAddress!) }
            guard mean >= 0 else { return LatencySummary(samples) }
            samples.append(contentsOf: buffer.map(Double.init))
        } while Double(benchNow() - start) / 1e9 < seconds
        return LatencySummary(samples)
    }
}
