import ArgumentParser
import Faultline

/// What `faultline call` and `faultline triage` share: the library and the
/// function, how to call it, and the inputs.
struct CallOptions: ParsableArguments {
    /// Where the call runs.
    enum StrategyName: String, ExpressibleByArgument, CaseIterable {
        case pool, fork, `guard`
    }

    @Argument(help: "Path to a shared object (passed to dlopen).")
    var library: String

    @Argument(help: "An exported function: int SYMBOL(int), or of the shape --signature gives.")
    var symbol: String

    @Option(help: "pool, fork or guard.")
    var strategy: StrategyName = .pool

    @Option(help: "Worker processes for --strategy pool (default: the number of cores).")
    var workers: Int?

    @Option(help: "Deadline per call in seconds (pool and fork). Without it there is none.")
    var timeout: Double?

    @Flag(help: "Pool: run every input that crashed, exited or was corrupted again, alone, in a fresh process; its line gains \"replay\".")
    var verifyCrashes = false

    @Option(help: "Pool: the address-space limit (RLIMIT_AS) of every worker, in bytes; each line then says \"memory_limit\".")
    var memoryLimit: Int?

    @Option(help: "Pool: replace a worker after this many calls.")
    var maxCallsPerWorker: Int?

    @Option(help: ArgumentHelp("The function's C signature, e.g. 'double(double, string)' (default: int32(int32) with bare integers as inputs).", valueName: "signature"))
    var signature: String?

    @Option(name: .customLong("init"), help: ArgumentHelp("An exported int SYMBOL(void), called once before the first call in every process that calls; it must return 0.", valueName: "symbol"))
    var initializer: String?

    @Argument(parsing: .allUnrecognized, help: "JSON integers (e.g. -7; no '+', no leading zero), or with --signature JSON arrays. Without any, one per line from standard input, answered as the lines arrive.")
    var inputs: [String] = []

    func validate() throws {
        if let workers, workers < 1 || workers > 1024 {
            throw ValidationError("--workers must be between 1 and 1024, got \(workers)")
        }
        if let timeout {
            guard timeout.isFinite, timeout > 0 else { throw ValidationError("--timeout must be a positive number of seconds") }
            if strategy == .guard { throw ValidationError("--timeout cannot be used with --strategy guard") }
        }
        // With fork every call already runs alone in a fresh process: --verify-crashes has nothing to add there.
        if strategy == .guard && verifyCrashes {
            throw ValidationError("--verify-crashes needs a strategy with processes (pool, or fork, where every call is already alone)")
        }
        if strategy != .pool {
            for (flag, given) in [("--memory-limit", memoryLimit != nil), ("--max-calls-per-worker", maxCallsPerWorker != nil)] where given {
                throw ValidationError("\(flag) needs --strategy pool (its workers are the long-lived processes it applies to)")
            }
        }
        if let memoryLimit, memoryLimit < 1 << 20 { throw ValidationError("--memory-limit must be at least 1048576 bytes, got \(memoryLimit)") }
        if let maxCallsPerWorker, maxCallsPerWorker < 1 { throw ValidationError("--max-calls-per-worker must be at least 1, got \(maxCallsPerWorker)") }
    }
}
