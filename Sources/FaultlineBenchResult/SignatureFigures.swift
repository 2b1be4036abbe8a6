/// Calls through the signature path (libffi and argument records) against
/// baselines measured in the same run: the figures behind the targets
/// `signature_guard_overhead`, `pool_string_calls_per_second` and
/// `pool_bytes_throughput`. A figure is nil when it could not be measured;
/// the matching note says why.
public struct SignatureFigures: Codable, Sendable {
    /// A plain C call of `double fl_cli_add_d(double, double)` through a function pointer, ns per call.
    public var plainCallNs: Double?
    /// `GuardStrategy.call(argumentLists:)` of the same function (`double(double, double)`) on
    /// batches of 4096 argument lists, ns per call (encoding included).
    public var guardCallNs: Double?
    /// `GuardStrategy.call(arguments:)`, one call at a time, ns per call.
    public var guardSingleCallNs: Double?
    /// Why the guard figures are missing.
    public var guardNote: String?
    /// Pool calls per second of `int32(string)` (`fl_sig_strlen`) on 100-byte strings.
    public var poolStringCallsPerSecond: Double?
    /// Why the pool string figure is missing.
    public var poolStringNote: String?
    /// Bytes per second of pool calls of `int64(bytes)` (`fl_sig_sum_bytes`) on 1 MiB buffers.
    public var poolBytesPerSecond: Double?
    /// Why the pool bytes figure is missing.
    public var poolBytesNote: String?
    /// Bytes per second of `memcpy` of 1 MiB buffers in this process.
    public var memcpyBytesPerSecond: Double?
    /// Workers of the pool measurements.
    public var workers: Int = 0

    /// Nothing measured yet.
    public init() {}

    private enum CodingKeys: String, CodingKey {
        case plainCallNs = "plain_call_ns", guardCallNs = "guard_call_ns", guardSingleCallNs = "guard_single_call_ns", guardNote = "guard_note"
        case poolStringCallsPerSecond = "pool_string_calls_per_second", poolStringNote = "pool_string_note"
        case poolBytesPerSecond = "pool_bytes_per_second", poolBytesNote = "pool_bytes_note"
        case memcpyBytesPerSecond = "memcpy_bytes_per_second", workers
    }
}
