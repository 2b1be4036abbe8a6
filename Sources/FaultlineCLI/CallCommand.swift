import ArgumentParser
import Faultline
#if canImport(Glibc)
import Glibc
#endif

/// `faultline call LIBRARY SYMBOL [--signature SIGNATURE] [--init SYMBOL] [--strategy pool|fork|guard] [--workers N] [--timeout SECONDS] [--] INPUT...`
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
          {"input":7,"outcome":"corrupted","detail":"the call returned 5, then
            Faultline found the memory it shares with the worker overwritten"}
        "corrupted": Faultline's own record of the call was destroyed (the
        callee wrote over it); it is never a guess. With --verify-crashes a
        line may end with "replay":{...}: the input run again alone in a fresh
        process. Accidents (wild writes, writes into descriptors, a callee
        that kills or stops its parent or group, forks, daemons, pthread_exit)
        cannot change another input's outcome; a callee written to attack
        Faultline can forge its own. See README, "What is guaranteed".

        Signatures (--signature; without it the signature is int32(int32)
        and each input is a JSON integer, e.g. -7 (no '+', no leading zero),
        or a one-element array, read as with --signature 'int32(int32)'):
          SIGNATURE := RETURN "(" [ PARAM { "," PARAM } ] ")"
          RETURN    := "void" | SCALAR
          PARAM     := SCALAR | "string" | "bytes"
                     | "out_string[" N "]" | "out_bytes[" N "]"
          SCALAR    := int8 int16 int32 int64 uint8 uint16 uint32 uint64
                       float double bool (C spellings too: int, size_t,
                       unsigned char, const char *, ...)
        string is a const char *; bytes is a (const void *, size_t) pair;
        out_string[N]/out_bytes[N] is a (void *, size_t) pair pointing to a
        zero-filled buffer of N bytes (1 to 64 MiB) the callee may fill.
        Each input is one JSON array of the values of the parameters that
        take input, in order (output buffers take none):
          faultline call ./libm.so mix --signature 'double(double, string)' '[1.5, "abc"]'
          {"input":[1.5,"abc"],"outcome":"returned","value":4.5}
        Integers must be exact JSON integers in range; float and double take
        any number or "inf", "-inf", "nan"; bool takes true/false; string a
        JSON string without U+0000; bytes a JSON string (its UTF-8) or
        {"base64":"..."}. Output: "input" is the canonical array, "value" the
        typed return value (null for void; floats shortest, non-finite as
        strings; bytes as {"base64":"..."}), and "out":[...] holds the
        output buffers when the signature has any (out_string as text up to
        its first NUL). Every other outcome carries the input the same way.

        --init SYMBOL: int SYMBOL(void) from the same library, called once
        before the first call in every process that calls (guard: this
        process; fork: each forked process; pool: the helper the workers
        are forked from). A non-zero return, or a crash, ends the run with exit
        status 2 and one line, e.g. "init 'setup' returned 7" or
        "init 'setup' crashed: SIGSEGV at 0x0", and nothing on stdout.

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
        --signature and --init work with every strategy. The pool calls init
        once in its helper process before forking the workers, so every
        worker starts with the state init set up; fork calls it in each
        forked process before the call (with --timeout, init and call share
        the deadline); guard calls it once in this process.

        Exit status: 0 when every input got an outcome (crashes are
        outcomes); 2 for a usage error, a malformed or unknown signature, an
        unloadable library, a missing symbol or init symbol, a failed init,
        or a malformed input (one line on stderr naming the input, e.g.
        "input 3:" or "line 7 of standard input:", quoting at most 80
        characters of it; nothing on stdout and no call made, except that
        outcomes of standard-input lines before the malformed one stay
        printed); 70 when the run cannot go on (the pool's helper could not be
        started again; what was answered stays printed); 130 or 143 when
        stopped by SIGINT or SIGTERM (workers are killed first); 74 when the
        results cannot be written (standard output closed or unwritable).
        """
    )

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

    func run() throws {
        // Before anything else: with descriptor 1 closed, the next descriptor
        // opened would become "stdout" and results would land in it.
        OutputStream.requireStandardOutput()
        guard let signatureText = signature else {
            return try serve(format: .int32, chunk: Self.chunk, inputJSON: { String($0) }) {
                let strategy = try makeStrategy()
                if let pool = (strategy as? PoolStrategy)?.pool ?? (strategy as? PoolRecordStrategy)?.pool {
                    SignalWatcher.onStop { pool.shutdown() }
                }
                return { try strategy.call($0) }
            }
        }
        let parsed: Signature
        do { parsed = try Signature(parsing: signatureText) } catch { throw ValidationError(error.description) }
        try serve(format: .signature(parsed), chunk: Self.signatureChunk,
                  inputJSON: Signature.inputJSON) {
            let caller = try makeSignatureCaller(parsed)
            return { try caller.call($0) }
        }
    }

    /// Reads the inputs (all arguments checked before any call, or standard
    /// input streamed), starts the strategy with `start` (which returns the
    /// call of one chunk), and prints one line per outcome (the input in its JSON form by `inputJSON`).
    private func serve<Input>(format: InputFormat<Input>, chunk: Int, inputJSON: (Input) -> String,
                              start: () throws -> ([Input]) throws -> Outcomes) throws {
        let words = inputs.first == "--" ? Array(inputs.dropFirst()) : inputs
        if let option = words.first(where: { $0.hasPrefix("-") && format.parse(Substring($0)).isFailure }), inputs.first != "--" {
            throw ValidationError("unknown option \(InputProblem.quote(Substring(option)))")
        }
        let given: [Input]?
        do { given = words.isEmpty ? nil : try format.parseArguments(words) } catch { throw ValidationError(error.description) }
        Descendants.adoptOrphans()
        SignalWatcher.start()
        // Started after the watcher, so its thread inherits the blocked stop signals.
        let stream = given == nil ? InputStream(format: format).start() : nil
        // Before any library is loaded here: its constructors may print too.
        let output = OutputStream.claimStandardOutput()
        let call = try start()
        let progress = Progress(total: given?.count)
        var answered = 0
        let extra = memoryLimit.map { "\"memory_limit\":\($0)" } ?? ""
        func answer(_ inputs: [Input]) throws {
            let outcomes: Outcomes
            do { outcomes = try call(inputs) } catch let error as PoolError {
                // The pool could not go on (its helper could not be started again):
                // not a usage error. What was answered stays printed.
                output.flush()
                StandardError.write("faultline: the run cannot go on: \(error)")
                throw ExitCode(70)
            }
            let replays = outcomes.replays
            for (index, (input, outcome)) in zip(inputs, outcomes).enumerated() {
                output.write(outcome, inputJSON: inputJSON(input), replay: replays.isEmpty ? nil : replays[index], extra: extra)
            }
            output.flush()
            answered += inputs.count
            progress.update(done: answered)
        }
        // Chunks let output stream out and progress show on long runs.
        if let given {
            var first = 0
            while first < given.count {
                try answer(Array(given[first..<min(given.count, first + chunk)]))
                first += chunk
            }
        } else if let stream {
            while let inputs = stream.next(maximum: chunk) { try answer(inputs) }
            if let problem = stream.problem {
                progress.finish()
                throw ValidationError(problem.description)
            }
        }
        progress.finish()
    }

    /// Inputs handed to the strategy at once, at most.
    private static let chunk = 65536
    /// The same for calls with a signature (an input may hold a megabyte of bytes).
    private static let signatureChunk = 1024

    private func makeStrategy() throws -> any Strategy {
        switch strategy {
        case .guard:
            let function = try NativeFunction.loadChecked(library: library, symbol: symbol)
            return GuardStrategy(function, initializer: try loadInitializer())
        case .fork:
            let function = try NativeFunction.loadChecked(library: library, symbol: symbol, timeout: deadline)
            return ForkStrategy(function, timeout: deadline, initializer: try loadInitializer())
        case .pool:
            guard let initializer else {
                return PoolStrategy(try WorkerPool(library: library, symbol: symbol, configuration: poolConfiguration))
            }
            // A pool with an initializer carries argument records, even for int32(int32).
            let pool = try WorkerPool(library: library, symbol: symbol, signature: .default, initializer: initializer,
                                      configuration: poolConfiguration)
            return PoolRecordStrategy(pool: pool)
        }
    }

    /// The pool's configuration from the options.
    private var poolConfiguration: WorkerPool.Configuration {
        var configuration = WorkerPool.Configuration(workers: workers ?? WorkerPool.onlineCores, timeout: deadline,
                                                     recycleAfter: maxCallsPerWorker, memoryLimit: memoryLimit)
        configuration.verifyCrashes = verifyCrashes
        return configuration
    }

    /// `--timeout` as a duration.
    private var deadline: Duration? { timeout.map { Duration.nanoseconds(Int64($0 * 1e9)) } }

    /// `--init SYMBOL` for the guard and fork (loaded here, after the library
    /// passed the helper's check); a missing symbol is a ``LoadError``.
    private func loadInitializer() throws -> Initializer? {
        guard let initializer else { return nil }
        return try Initializer(library: library, symbol: initializer)
    }

    /// The adapter of the chosen strategy for calls with `signature` (the
    /// library is first loaded in a helper process: the pool's, or a probe
    /// before the guard and fork load it here).
    private func makeSignatureCaller(_ signature: Signature) throws -> any SignatureCaller {
        switch strategy {
        case .guard, .fork:
            _ = try NativeFunction.loadChecked(library: library, symbol: symbol, timeout: deadline)
            let function = try NativeFunction(library: library, symbol: symbol, signature: signature)
            if strategy == .guard {
                return GuardSignatureCaller(strategy: GuardStrategy(function, initializer: try loadInitializer()))
            }
            return ForkSignatureCaller(strategy: ForkStrategy(function, timeout: deadline, initializer: try loadInitializer()))
        case .pool:
            let pool = try WorkerPool(library: library, symbol: symbol, signature: signature, initializer: initializer,
                                      configuration: poolConfiguration)
            SignalWatcher.onStop { pool.shutdown() }
            return PoolSignatureCaller(pool: pool)
        }
    }
}
