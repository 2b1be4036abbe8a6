import ArgumentParser
import Faultline
#if canImport(Glibc)
import Glibc
#endif

/// `faultline call LIBRARY SYMBOL [--strategy pool|fork|guard] [--workers N] [--timeout SECONDS] [--] INPUT...`
struct CallCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "call",
        abstract: "Call SYMBOL from LIBRARY once per input and print one JSON line per outcome.",
        discussion: """
        Standard output carries exactly one JSON object per input, in input
        order, and nothing else. Whatever the callee prints goes to stderr.
          {"input":4,"outcome":"returned","value":4}
          {"input":4,"outcome":"signaled","signal":"SIGSEGV","signo":11,
            "address":"0x0","backtrace":["raise_a_fault+0x2a",...]}
          {"input":100,"outcome":"exited","status":100}
          {"input":42,"outcome":"timed_out","seconds":1.0}

        Strategies:
          pool   (default) supervised worker processes. A crash fails exactly
                 its input, the worker is replaced, and no timeout is needed
                 to notice a death.
          fork   one fresh child process per call.
          guard  in this process, with signal handlers and siglongjmp. Fast
                 but unsafe: a fault in a thread the callee started, a fault
                 with the signal blocked, exit(), or a callee that installs
                 its own signal handlers ends this process as it would have
                 (no further output); an infinite loop hangs it (--timeout is
                 not available); a callee that closes descriptors can take
                 the output with it (exit status 74).

        Exit status: 0 when every input got an outcome (crashes are
        outcomes); 2 for a usage error, an unloadable library, a missing
        symbol or a malformed input (one line on stderr, nothing on stdout,
        no worker started); 130 or 143 when stopped by SIGINT or SIGTERM
        (workers are killed first); 74 when the results cannot be written.
        """
    )

    /// Where the call runs.
    enum StrategyName: String, ExpressibleByArgument, CaseIterable {
        case pool, fork, `guard`
    }

    @Argument(help: "Path to a shared object (passed to dlopen).")
    var library: String

    @Argument(help: "An exported function of the form int SYMBOL(int).")
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

    @Argument(parsing: .allUnrecognized, help: "Decimal integers (negative allowed). Without any, one per line from standard input, answered as the lines arrive.")
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

    func run() throws {
        // Before anything else: with descriptor 1 closed, the next descriptor
        // opened would become "stdout" and results would land in it.
        OutputStream.requireStandardOutput()
        let format = InputFormat.int32
        let words = inputs.first == "--" ? Array(inputs.dropFirst()) : inputs
        if let option = words.first(where: { $0.hasPrefix("-") && format.parse(Substring($0)).isFailure }), inputs.first != "--" {
            throw ValidationError("unknown option \(InputProblem.quote(Substring(option)))")
        }
        let given: [Int32]?
        do { given = words.isEmpty ? nil : try format.parseArguments(words) } catch { throw ValidationError(error.description) }
        Descendants.adoptOrphans()
        SignalWatcher.start()
        // Started after the watcher, so its thread inherits the blocked stop signals.
        let stream = given == nil ? InputStream(format: format).start() : nil
        // Before any library is loaded here: its constructors may print too.
        let output = OutputStream.claimStandardOutput()
        let strategy = try makeStrategy()
        if let pool = (strategy as? PoolStrategy)?.pool {
            SignalWatcher.onStop { pool.shutdown() }
        }
        let progress = Progress(total: given?.count)
        var answered = 0
        let extra = memoryLimit.map { "\"memory_limit\":\($0)" } ?? ""
        func answer(_ chunk: [Int32]) throws {
            let outcomes = try strategy.call(chunk)
            for (index, (input, outcome)) in zip(chunk, outcomes).enumerated() {
                output.write(outcome.jsonLine(inputJSON: String(input), replay: outcomes.replays[index], extra: extra))
            }
            output.flush()
            answered += chunk.count
            progress.update(done: answered)
        }
        // Chunks let output stream out and progress show on long runs.
        if let given {
            var start = 0
            while start < given.count {
                try answer(Array(given[start..<min(given.count, start + Self.chunk)]))
                start += Self.chunk
            }
        } else if let stream {
            while let chunk = stream.next(maximum: Self.chunk) { try answer(chunk) }
            if let problem = stream.problem {
                progress.finish()
                throw ValidationError(problem.description)
            }
        }
        progress.finish()
    }

    /// Inputs handed to the strategy at once, at most.
    private static let chunk = 65536

    private func makeStrategy() throws -> any Strategy {
        let deadline = timeout.map { Duration.nanoseconds(Int64($0 * 1e9)) }
        switch strategy {
        case .guard:
            return GuardStrategy(try NativeFunction.loadChecked(library: library, symbol: symbol))
        case .fork:
            return ForkStrategy(try NativeFunction.loadChecked(library: library, symbol: symbol, timeout: deadline), timeout: deadline)
        case .pool:
            var configuration = WorkerPool.Configuration(workers: workers ?? WorkerPool.onlineCores, timeout: deadline,
                                                         recycleAfter: maxCallsPerWorker, memoryLimit: memoryLimit)
            configuration.verifyCrashes = verifyCrashes
            return PoolStrategy(try WorkerPool(library: library, symbol: symbol, configuration: configuration))
        }
    }
}
