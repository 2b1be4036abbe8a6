import FaultlineBenchResult
/// The inputs the bench feeds to the victims: a cheap non-faulting workload
/// and mixed workloads in which a fixed fraction of the inputs fault.
///
/// The mixed workloads use the victim `fl_mixed`: an input r >= 0 returns r;
/// -1 SIGSEGV, -2 SIGFPE, -3 SIGILL, -4 SIGABRT, -5 stack overflow, -6 SIGBUS,
/// -7 exit(7). Faulting inputs are spread evenly (input i faults when
/// floor((i+1)·f) > floor(i·f)) and cycle through the kinds, so every run,
/// and the Python peers (which use the same rule), see the same sequence.
struct Workload: Sendable {
    /// The name used in the report: `identity`, `mixed_5`, `mixed_25`.
    var name: String
    /// The victim symbol called.
    var symbol: String
    /// The fraction of inputs that fault (0 for identity).
    var faultFraction: Double
    /// The fault kinds used, as `fl_mixed` inputs.
    var faultKinds: [Int32]
    /// The inputs, used cyclically.
    var inputs: [Int32]

    /// Every fault kind of `fl_mixed`, in order.
    static let allFaultKinds: [Int32] = [-1, -2, -3, -4, -5, -6, -7]
    /// The kinds the in-process guard can survive: all but exit(7), which ends the process.
    static let guardableFaultKinds: [Int32] = [-1, -2, -3, -4, -5, -6]
    /// How many inputs a workload holds before it repeats.
    static let length = 1_000

    /// `fl_identity` on 0, 1, 2, …
    static let identity = Workload(name: "identity", symbol: "fl_identity", faultFraction: 0, faultKinds: [],
                                   inputs: (0..<Int32(length)).map { $0 })

    /// `fl_mixed` with `percent`% of the inputs faulting, of the given kinds.
    static func mixed(percent: Int, kinds: [Int32] = allFaultKinds) -> Workload {
        let fraction = Double(percent) / 100
        return Workload(name: "mixed_\(percent)", symbol: "fl_mixed", faultFraction: fraction, faultKinds: kinds,
                        inputs: mixedInputs(fraction: fraction, kinds: kinds, count: length))
    }

    /// The mixed sequence: the rule the Python peers reimplement.
    static func mixedInputs(fraction: Double, kinds: [Int32], count: Int) -> [Int32] {
        var inputs: [Int32] = []
        inputs.reserveCapacity(count)
        var faultIndex = 0
        for index in 0..<count {
            let before = Int((Double(index) * fraction).rounded(.down))
            let after = Int((Double(index + 1) * fraction).rounded(.down))
            if after > before && !kinds.isEmpty {
                inputs.append(kinds[faultIndex % kinds.count])
                faultIndex += 1
            } else {
                inputs.append(Int32(index))
            }
        }
        return inputs
    }

    /// The percentages of the mixed workloads.
    static let mixedPercentages = [5, 25]
}
