/// `faultline call` end to end (a child process: JSON Lines in and out, names
/// resolved), against the library measured in the same run: the figures
/// behind `cli_guard_fault_cost` and `cli_pool_crash_rate`. Each CLI figure is
/// the difference of two runs of different lengths, so that the process's
/// start and the pool's set-up cancel out. A figure is nil when it could not
/// be measured; the matching note says why.
public struct CLIFigures: Codable, Sendable {
    /// `faultline call --strategy guard` per faulting input, ns.
    public var guardFaultNs: Double?
    /// Why the guard figure is missing.
    public var guardNote: String?
    /// `faultline call` (the pool) crashes per second on all-faulting input.
    public var poolCrashesPerSecond: Double?
    /// `WorkerPool.run` crashes per second on the same input, in this process.
    public var libraryCrashesPerSecond: Double?
    /// Why a pool figure is missing.
    public var poolNote: String?
    /// Faulting inputs of the shorter and the longer CLI runs.
    public var inputs: [Int] = []
    /// Workers of the pool measurements.
    public var workers: Int = 0

    /// Nothing measured yet.
    public init() {}

    private enum CodingKeys: String, CodingKey {
        case guardFaultNs = "guard_fault_ns", guardNote = "guard_note"
        case poolCrashesPerSecond = "pool_crashes_per_second", libraryCrashesPerSecond = "library_crashes_per_second"
        case poolNote = "pool_note", inputs, workers
    }
}
