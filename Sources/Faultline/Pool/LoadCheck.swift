extension NativeFunction {
    /// Loads `symbol` from `library` like ``init(library:symbol:)``, but first
    /// in a separate helper process, so that a library whose constructor
    /// crashes (or hangs past `timeout`) is an error here instead of the end
    /// of this process. Costs one short-lived helper (a few milliseconds).
    public static func loadChecked(library: String, symbol: String, timeout: Duration? = nil) throws -> NativeFunction {
        let probe = try WorkerPool(library: library, symbol: symbol,
                                   configuration: .init(workers: 0, timeout: timeout, captureBacktrace: false, symbolize: false))
        probe.shutdown()
        return try NativeFunction(library: library, symbol: symbol)
    }
}
