/// The supervised worker pool behind the ``Strategy`` protocol.
///
/// `call(_ inputs:)` hands all inputs to the pool at once, so the workers run
/// in parallel; `call(_ input:)` is one round trip to a worker.
public struct PoolStrategy: Strategy {
    /// The pool the calls go to.
    public let pool: WorkerPool

    /// `"pool"`.
    public var name: String { "pool" }

    /// Wraps a pool.
    public init(_ pool: WorkerPool) { self.pool = pool }

    /// One call on a worker.
    public func call(_ input: Int32) throws(PoolError) -> Outcome { try pool.call(input) }

    /// All calls on the workers, outcomes in input order.
    public func call(_ inputs: [Int32]) throws(PoolError) -> Outcomes { try pool.run(inputs) }
}

/// Fork per call, from a small helper process instead of from this one.
///
/// Each call runs in a fresh worker process that serves exactly one call;
/// the helper forks the next one while this call runs. A fork from the
/// helper costs the same whatever the size of this process, where a fork
/// from a 1 GiB process copies its page tables on every call.
public struct ForkServerStrategy: Strategy {
    /// The pool configured with one call per worker process.
    public let pool: WorkerPool

    /// `"fork-server"`.
    public var name: String { "fork-server" }

    /// Starts the helper for `symbol` in `library`; `timeout` as in ``ForkStrategy``;
    /// with a `sandbox`, every fresh process applies it before its call.
    public init(library: String, symbol: String, timeout: Duration? = nil, workers: Int = 1, sandbox: Sandbox? = nil) throws {
        pool = try WorkerPool(library: library, symbol: symbol,
                              configuration: .init(workers: workers, timeout: timeout, recycleAfter: 1, sandbox: sandbox))
    }

    /// The same for a function with `signature`; `initializer` runs once in the
    /// helper, so every fresh process starts with the state it set up.
    public init(library: String, symbol: String, signature: Signature, initializer: String? = nil,
                timeout: Duration? = nil, workers: Int = 1, sandbox: Sandbox? = nil) throws {
        pool = try WorkerPool(library: library, symbol: symbol, signature: signature, initializer: initializer,
                              configuration: .init(workers: workers, timeout: timeout, recycleAfter: 1, sandbox: sandbox))
    }

    /// One call with a signature's arguments, in a fresh process.
    public func call(arguments: [Value]) throws -> Outcome { try pool.run(arguments: [arguments])[0] }

    /// One call in a fresh process.
    public func call(_ input: Int32) throws(PoolError) -> Outcome { try pool.call(input) }

    /// All calls, each in a fresh process.
    public func call(_ inputs: [Int32]) throws(PoolError) -> Outcomes { try pool.run(inputs) }
}
