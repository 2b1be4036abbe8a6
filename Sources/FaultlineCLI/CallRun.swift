import ArgumentParser
import Faultline
#if canImport(Glibc)
import Glibc
#endif

/// One chunk of answered inputs: their outcomes, and each input in its JSON form.
struct AnsweredChunk {
    /// The outcomes, in input order.
    var outcomes: Outcomes
    /// The JSON form of the chunk's `i`-th input.
    var inputJSON: (Int) -> String
    /// The index of the chunk's first input in the whole run.
    var firstIndex: Int
    /// With a sandbox, on the run's first chunk: the `"sandbox":{…}` member of its first line.
    var sandboxMember: String?
}

/// What the strategy made for a run reports about its sandbox.
final class SandboxAnnouncement {
    var status: SandboxStatus?
    /// Learning mode: what the pool recorded.
    var learned: (() -> [LearnedSyscall]?)?
    /// Learning mode: the run-wide index of the input that first made each call. The
    /// pool records it within the chunk being run, so it is read after every chunk.
    private(set) var firstInputs: [String: Int] = [:]

    /// Notes the calls first made in the chunk that starts at input `firstIndex`.
    func noteChunk(firstIndex: Int) {
        guard let learned = learned?() else { return }
        for call in learned where firstInputs[call.name] == nil {
            if let first = call.firstInput { firstInputs[call.name] = firstIndex + first }
        }
    }
}

extension CallOptions {
    /// Runs every input and hands each chunk of outcomes to `consume`, with
    /// the stream that owns standard output (a callee's output goes to stderr).
    func run(_ consume: (OutputStream, AnsweredChunk) throws -> Void) throws {
        // Before anything else: with descriptor 1 closed, the next descriptor
        // opened would become "stdout" and results would land in it.
        OutputStream.requireStandardOutput()
        let sandbox = try sandboxOptions.sandbox()
        let announcement = SandboxAnnouncement()
        guard let signatureText = signature else {
            defer { sandboxOptions.reportLearned(announcement) }
            return try serve(format: .int32, chunk: Self.chunk, inputJSON: { String($0) }, sandbox: sandbox,
                             announcement: announcement, consume: consume) {
                let strategy = try makeStrategy(sandbox, announcement)
                if let pool = (strategy as? PoolStrategy)?.pool ?? (strategy as? PoolRecordStrategy)?.pool {
                    SignalWatcher.onStop { pool.shutdown() }
                }
                return { try strategy.call($0) }
            }
        }
        let parsed: Signature
        do { parsed = try Signature(parsing: signatureText) } catch { throw ValidationError(error.description) }
        defer { sandboxOptions.reportLearned(announcement) }
        try serve(format: .signature(parsed), chunk: Self.signatureChunk,
                  inputJSON: Signature.inputJSON, sandbox: sandbox, announcement: announcement, consume: consume) {
            let caller = try makeSignatureCaller(parsed, sandbox, announcement)
            return { try caller.call($0) }
        }
    }

    /// Reads the inputs (all arguments checked before any call, or standard
    /// input streamed), starts the strategy with `start` (which returns the
    /// call of one chunk), and prints one line per outcome (the input in its JSON form by `inputJSON`).
    private func serve<Input>(format: InputFormat<Input>, chunk: Int, inputJSON: @escaping (Input) -> String,
                              sandbox: Sandbox?, announcement: SandboxAnnouncement,
                              consume: (OutputStream, AnsweredChunk) throws -> Void,
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
        let input = InputStream<Input>.claimStandardInput()
        let stream = given == nil ? InputStream(format: format, descriptor: input).start() : nil
        // Before any library is loaded here: its constructors may print too.
        let output = OutputStream.claimStandardOutput()
        let call = try start()
        var sandboxMember: String?
        if let sandbox, sandbox.learn {
            StandardError.write("faultline: NOT sandboxed: learning mode (--sandbox-learn): every system call is allowed and recorded")
            sandboxMember = "\"sandbox\":{\"sandboxed\":false,\"learn\":true}"
        } else if let sandbox, let status = announcement.status {
            StandardError.write("faultline: " + SandboxReport.summary(sandbox, status))
            sandboxMember = SandboxReport.jsonMember(sandbox, status)
        }
        let progress = Progress(total: given?.count)
        var answered = 0
        func answer(_ inputs: [Input]) throws {
            let outcomes: Outcomes
            do { outcomes = try call(inputs) } catch let error as PoolError {
                // The pool could not go on (its helper could not be started again):
                // not a usage error. What was answered stays printed.
                output.flush()
                StandardError.write("faultline: the run cannot go on: \(error)")
                throw ExitCode(70)
            }
            try consume(output, AnsweredChunk(outcomes: outcomes, inputJSON: { inputJSON(inputs[$0]) }, firstIndex: answered,
                                              sandboxMember: answered == 0 ? sandboxMember : nil))
            output.flush()
            announcement.noteChunk(firstIndex: answered)
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

    private func makeStrategy(_ sandbox: Sandbox?, _ announcement: SandboxAnnouncement) throws -> any Strategy {
        switch strategy {
        case .guard:
            let function = try NativeFunction.loadChecked(library: library, symbol: symbol)
            return GuardStrategy(function, initializer: try loadInitializer())
        case .fork:
            let function = try NativeFunction.loadChecked(library: library, symbol: symbol, timeout: deadline)
            return try forkStrategy(function, sandbox, announcement)
        case .pool:
            guard let initializer else {
                let pool = try WorkerPool(library: library, symbol: symbol, configuration: poolConfiguration(sandbox))
                announcement.status = pool.sandboxStatus
                announcement.learned = { pool.learnedSyscalls }
                return PoolStrategy(pool)
            }
            // A pool with an initializer carries argument records, even for int32(int32).
            let pool = try WorkerPool(library: library, symbol: symbol, signature: .default, initializer: initializer,
                                      configuration: poolConfiguration(sandbox))
            announcement.status = pool.sandboxStatus
            announcement.learned = { pool.learnedSyscalls }
            return PoolRecordStrategy(pool: pool)
        }
    }

    /// Fork per call of `function`, sandboxed when asked.
    private func forkStrategy(_ function: NativeFunction, _ sandbox: Sandbox?, _ announcement: SandboxAnnouncement) throws -> ForkStrategy {
        guard let sandbox else { return ForkStrategy(function, timeout: deadline, initializer: try loadInitializer()) }
        let strategy = try ForkStrategy(function, timeout: deadline, initializer: try loadInitializer(), sandbox: sandbox)
        announcement.status = strategy.sandboxStatus
        return strategy
    }

    /// The pool's configuration from the options.
    private func poolConfiguration(_ sandbox: Sandbox?) -> WorkerPool.Configuration {
        var configuration = WorkerPool.Configuration(workers: workers ?? WorkerPool.onlineCores, timeout: deadline,
                                                     recycleAfter: maxCallsPerWorker, memoryLimit: memoryLimit, sandbox: sandbox)
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
    private func makeSignatureCaller(_ signature: Signature, _ sandbox: Sandbox?,
                                     _ announcement: SandboxAnnouncement) throws -> any SignatureCaller {
        switch strategy {
        case .guard, .fork:
            _ = try NativeFunction.loadChecked(library: library, symbol: symbol, timeout: deadline)
            let function = try NativeFunction(library: library, symbol: symbol, signature: signature)
            if strategy == .guard {
                return GuardSignatureCaller(strategy: GuardStrategy(function, initializer: try loadInitializer()))
            }
            return ForkSignatureCaller(strategy: try forkStrategy(function, sandbox, announcement))
        case .pool:
            let pool = try WorkerPool(library: library, symbol: symbol, signature: signature, initializer: initializer,
                                      configuration: poolConfiguration(sandbox))
            announcement.status = pool.sandboxStatus
            announcement.learned = { pool.learnedSyscalls }
            SignalWatcher.onStop { pool.shutdown() }
            return PoolSignatureCaller(pool: pool)
        }
    }
}
