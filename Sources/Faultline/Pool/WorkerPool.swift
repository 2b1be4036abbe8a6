#if canImport(Glibc)
import Glibc
#endif
import CFaultline

/// A supervised pool of worker processes that call one native function.
///
/// This is the answer to the pool that hangs: a crash of the callee fails
/// exactly the input it was holding and nothing else; the death is noticed
/// as an event (the worker's socket closes and the helper reaps it), not by a
/// timeout; the worker is replaced at once, so the pool never shrinks; and
/// every other input still gets its outcome.
///
/// How it works: a small helper process (the `faultline-helper` program
/// beside this executable, or this executable re-executed; C only — see
/// ``helperExecutable`` and `FAULTLINE_HELPER` in README.md) loads the
/// library and forks the workers. Inputs go to the workers
/// in batches through shared memory; each worker publishes which input it is
/// calling before the call starts. See README.md, ARCHITECTURE.
///
/// Workers die with the pool: when it is shut down or deinitialized, when
/// this process exits, and even when it is killed with SIGKILL (the helper
/// sees its control socket close; workers have PR_SET_PDEATHSIG on the helper).
///
/// Runs are serialized: concurrent callers wait for each other. Use one
/// `run` with many inputs to keep all workers busy.
///
/// Limits: a worker serves many calls, so a thread an earlier call left
/// running that faults later is blamed on the call in flight at that moment
/// (or on none, between calls); with `recycleAfter: 1` (``ForkServerStrategy``)
/// every call has a fresh process. A callee that installs its own fault
/// handlers decides how its worker dies; the outcome reports what it did.
public final class WorkerPool: @unchecked Sendable {
    /// How a pool is built.
    public struct Configuration: Sendable {
        /// Workers to keep alive (default: the number of online cores). 0 only
        /// loads the library in the helper, which checks that it loads.
        public var workers: Int
        /// Per-call deadline. `nil` (the default) means none: a death is
        /// detected without one, and a slow call is never cut off.
        public var timeout: Duration?
        /// Record a libunwind backtrace when a worker faults.
        public var captureBacktrace: Bool
        /// Resolve backtrace addresses to names (in the helper, where the library is mapped).
        public var symbolize: Bool
        /// A worker exits after this many calls; 1 gives a fresh process per call. `nil`: never.
        public var recycleAfter: Int?
        /// The address-space limit (`RLIMIT_AS`) of every worker, in bytes. `nil`: none.
        /// A call that hits it gets its true outcome (often a failed allocation, then a fault).
        public var memoryLimit: Int?
        /// Run every input whose outcome was `signaled`, `exited` or `corrupted`
        /// again, alone, in a fresh process, and keep that outcome in
        /// ``Outcomes/replays``: it tells a crash of the input's own from one
        /// caused by state an earlier call left in the worker.
        public var verifyCrashes: Bool = false

        /// Creates a configuration.
        public init(workers: Int = WorkerPool.onlineCores, timeout: Duration? = nil, captureBacktrace: Bool = true,
                    symbolize: Bool = true, recycleAfter: Int? = nil, memoryLimit: Int? = nil) {
            self.workers = workers
            self.timeout = timeout
            self.captureBacktrace = captureBacktrace
            self.symbolize = symbolize
            self.recycleAfter = recycleAfter
            self.memoryLimit = memoryLimit
        }
    }

    /// The number of online processors.
    public static var onlineCores: Int { max(1, Int(sysconf(Int32(_SC_NPROCESSORS_ONLN)))) }

    /// The configuration the pool was built with.
    public let configuration: Configuration
    /// The function's signature (`int32(int32)` unless given).
    public let signature: Signature
    let prepared: PreparedSignature
    let pool: OpaquePointer
    /// What a replay pool needs to load the same function.
    let origin: (library: String?, symbol: String?, imageOffset: UInt64, initializer: String?)
    /// One fresh process per call, for ``Configuration/verifyCrashes``; made on first use.
    var replayPool: WorkerPool?

    /// Starts a pool for `symbol` in `library`, called with `signature`;
    /// `initializer` names an `int init(void)` in the same library, called
    /// once in the helper before any worker is forked, so that every worker
    /// starts with the state it set up (threads init starts stay in the
    /// helper: fork copies only the forking thread). A non-zero return or a
    /// crash in init throws ``PoolError/initFailed(_:)``.
    ///
    /// ```swift
    /// let pool = try WorkerPool(library: "./libparse.so", symbol: "parse",
    ///                           signature: Signature(parsing: "int32(string, out_string[64])"), initializer: "setup")
    /// let outcomes = try pool.run(arguments: [[.string("1+2")], [.string("(")]])
    /// ```
    public convenience init(library: String, symbol: String, signature: Signature, initializer: String? = nil,
                            configuration: Configuration = Configuration()) throws {
        try self.init(library: library, symbol: symbol, imageOffset: 0, signature: signature, initializer: initializer,
                      configuration: configuration)
    }

    /// Starts a pool for `symbol` in the shared library at `library`.
    ///
    /// The library is loaded in the helper, never in this process: a missing
    /// file or symbol throws ``LoadError`` (and no worker is started), and a
    /// library that crashes while loading throws ``PoolError/helperDied(library:status:)``, and more workers than
    /// ``maximumWorkers`` throws ``PoolError/tooManyWorkers(requested:limit:)``.
    public convenience init(library: String, symbol: String, configuration: Configuration = Configuration()) throws {
        try self.init(library: library, symbol: symbol, imageOffset: 0, configuration: configuration)
    }

    /// Starts a pool for a function you hold: one exported from a shared
    /// library (found with `dladdr`), or any function of this executable.
    public convenience init(_ function: NativeFunction, configuration: Configuration = Configuration()) throws {
        if let library = function.library, let symbol = function.symbol {
            try self.init(library: library, symbol: symbol, imageOffset: 0, configuration: configuration)
            return
        }
        let location = FunctionLocation(function.pointer)
        switch location {
        case .library(let path, let symbol):
            try self.init(library: path, symbol: symbol, imageOffset: 0, configuration: configuration)
        case .mainExecutable(let offset):
            try self.init(library: nil, symbol: nil, imageOffset: offset, configuration: configuration)
        case .unknown:
            throw PoolError.unlocatableFunction(function.description)
        }
    }

    private convenience init(library: String?, symbol: String?, imageOffset: UInt64, configuration: Configuration) throws {
        try self.init(library: library, symbol: symbol, imageOffset: imageOffset, signature: nil, initializer: nil,
                      configuration: configuration)
    }

    init(library: String?, symbol: String?, imageOffset: UInt64, signature: Signature?, initializer: String?,
                 configuration: Configuration) throws {
        self.configuration = configuration
        self.origin = (library, symbol, imageOffset, initializer)
        self.signature = signature ?? .default
        self.prepared = signature.map(PreparedSignature.init) ?? .default
        let types = signature?.parameters.map(\.typeCode) ?? []
        let capacities = signature?.parameters.map { parameter -> UInt64 in
            switch parameter {
            case .outString(let capacity), .outBytes(let capacity): UInt64(capacity)
            default: 0
            }
        } ?? []
        let result = signature?.returnType?.typeCode ?? FL_TYPE_VOID.rawValue
        let count = signature == nil ? UInt32.max : UInt32(types.count)
        var options = configuration.captureBacktrace ? Int32(FL_CAPTURE_BACKTRACE) : 0
        if configuration.symbolize { options |= Int32(FL_POOL_SYMBOLIZE) }
        let timeout = configuration.timeout.map { $0.nanoseconds } ?? -1
        var error = fl_pool_error()
        let requested = configuration.workers
        let created: OpaquePointer? = "/proc/self/exe".withCString { executable in
            withOptionalCString(library) { library in
                withOptionalCString(symbol) { symbol in
                    withOptionalCString(initializer) { initializer in
                        types.withUnsafeBufferPointer { types in
                            capacities.withUnsafeBufferPointer { capacities in
                                var config = fl_pool_config(
                                    executable: executable, library: library, symbol: symbol, image_offset: imageOffset,
                                    workers: Int32(clamping: max(0, requested)), timeout_ns: timeout, options: options,
                                    recycle_after: Int32(clamping: configuration.recycleAfter ?? 0),
                                    signature_result: result, signature_count: count,
                                    signature_types: types.baseAddress, signature_capacities: capacities.baseAddress,
                                    init_symbol: initializer, memory_limit: UInt64(max(0, configuration.memoryLimit ?? 0)))
                                return fl_pool_create(&config, &error)
                            }
                        }
                    }
                }
            }
        }
        guard let created else {
            throw Self.error(from: error, library: library, symbol: symbol, initializer: initializer, requested: requested,
                             timeout: timeout)
        }
        pool = created
    }

    /// The typed error for the fields of a C `fl_pool_error`.
    private static func error(from error: fl_pool_error, library: String?, symbol: String?, initializer: String?,
                              requested: Int, timeout: Int64) -> any Error {
        let path = library ?? "the main executable"
        switch error.kind {
        case Int32(FL_POOL_ERROR_LIBRARY):
            return LoadError.libraryNotLoadable(path: library ?? "", reason: detail(of: error))
        case Int32(FL_POOL_ERROR_SYSTEM) where error.step == Int32(FL_POOL_STEP_SPAWN) && error.detail_length > 0:
            return PoolError.helperNotStarted(path: detail(of: error), Errno(error.error_number))
        case Int32(FL_POOL_ERROR_SYMBOL):
            return LoadError.symbolNotFound(symbol: symbol ?? "", library: library ?? "")
        case Int32(FL_POOL_ERROR_HELPER):
            return PoolError.helperDied(library: path, status: error.wait_status < 0 ? nil : ExitStatus(waitStatus: error.wait_status))
        case Int32(FL_POOL_ERROR_LOAD_TIMEOUT):
            return PoolError.loadTimedOut(library: path, seconds: Double(timeout) / 1e9)
        case Int32(FL_POOL_ERROR_WORKERS):
            return PoolError.tooManyWorkers(requested: requested, limit: Int(error.limit))
        case Int32(FL_POOL_ERROR_INIT_SYMBOL):
            return LoadError.symbolNotFound(symbol: initializer ?? "", library: library ?? "")
        case Int32(FL_POOL_ERROR_INIT_FAILED):
            let reason: InitFailure.Reason = error.init_kind == Int32(FL_KIND_SIGNALED.rawValue)
                ? .signaled(Signal(error.init_signo),
                            address: [SIGSEGV, SIGBUS, SIGFPE, SIGILL].contains(error.init_signo) ? error.init_address : nil)
                : .returned(error.init_value)
            return PoolError.initFailed(InitFailure(initializer: initializer ?? "", reason: reason))
        case Int32(FL_POOL_ERROR_SIGNATURE):
            return PoolError.system(.configureHelper, Errno(EINVAL))
        default:
            return PoolError.system(PoolError.Step(error.step), Errno(error.error_number))
        }
    }

    /// The `detail` text of a C `fl_pool_error`, as many bytes as it says it holds.
    private static func detail(of error: fl_pool_error) -> String {
        withUnsafeBytes(of: error.detail) { raw in
            String(decoding: raw.prefix(Int(min(error.detail_length, UInt32(raw.count)))), as: UTF8.self)
        }
    }

    deinit { fl_pool_destroy(pool) }

    /// Kills every worker and the helper and reaps them. Safe from any thread,
    /// even during a run (which then throws). The pool cannot be used afterwards.
    public func shutdown() {
        fl_pool_shutdown(pool)
        replayPool?.shutdown()
    }

    /// The most workers one pool keeps alive; more is ``PoolError/tooManyWorkers(requested:limit:)``.
    public static let maximumWorkers = Int(FL_POOL_MAX_WORKERS)

    /// Calls the function once per input, in parallel on the workers.
    /// Outcomes come back in input order; each input gets exactly one.
    /// Throws only if the helper process itself died (or the pool was shut down).
    public func run(_ inputs: [Int32]) throws(PoolError) -> Outcomes {
        if inputs.isEmpty { return Outcomes(values: [], failures: [:]) }
        var kinds = [Int32](repeating: 0, count: inputs.count)
        var values = [Int32](repeating: 0, count: inputs.count)
        var failures: UnsafeMutablePointer<fl_pool_failure>?
        var failureCount = 0
        let status = fl_pool_run(pool, inputs, inputs.count, &kinds, &values, &failures, &failureCount)
        defer { fl_pool_free_failures(failures, failureCount) }
        if status < 0 { throw PoolError.system(.run, Errno(-status)) }
        var outcomes: [Int: Outcome] = [:]
        outcomes.reserveCapacity(failureCount)
        for index in 0..<failureCount {
            let failure = failures![index]
            let named = failure.frames.map { Symbolizer.frames(encoded: $0, length: failure.frames_length) }
            do { outcomes[Int(failure.index)] = try Outcome(report: failure.report, namedFrames: named) } catch {
                throw .inconsistentReport(error)
            }
        }
        var result = Outcomes(values: values, failures: outcomes)
        if configuration.verifyCrashes {
            do { try verify(&result) { pool, indices in try pool.run(indices.map { inputs[$0] }) } } catch let error as PoolError {
                throw error
            } catch {
                throw .replayUnavailable("\(error)")
            }
        }
        return result
    }

    /// Calls the function with one input.
    public func call(_ input: Int32) throws(PoolError) -> Outcome {
        try run([input])[0]
    }
}

extension Duration {
    /// The duration in whole nanoseconds.
    var nanoseconds: Int64 {
        components.seconds * 1_000_000_000 + components.attoseconds / 1_000_000_000
    }
}

private func withOptionalCString<R>(_ string: String?, _ body: (UnsafePointer<CChar>?) -> R) -> R {
    guard let string else { return body(nil) }
    return string.withCString { body($0) }
}
