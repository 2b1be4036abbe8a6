import Faultline
import FaultlineHarness

/// Grading a strategy on the post's input list: the same four questions for
/// every experiment that recovers (04–07).
extension Blog {
    /// One record per input of the list, from a subject's `@call` records
    /// (numbered from `offset`); an input without a record says why.
    public static func records(_ calls: [Int: CallRecord], offset: Int = 0, status: ExitStatus?) -> [CallRecord] {
        inputs.enumerated().map { index, input in
            calls[offset + index] ?? CallRecord(
                input: input, status: .missing,
                text: status.map { "no answer (the subject ended with \($0))" } ?? "no answer: stopped by the watchdog")
        }
    }

    /// True when every input got its exact outcome: its own value for r ≤ 3,
    /// SIGSEGV at address 0 for r > 3.
    public static func exact(_ records: [CallRecord]) -> Bool {
        records.count == inputs.count && zip(inputs, records).allSatisfy { input, call in
            faults(input) ? (call.outcome?.signal == .segmentationFault && call.outcome?.fault?.address == 0) : call.value == input
        }
    }

    /// True when there were faults and every one's backtrace names the post's function.
    public static func traced(_ records: [CallRecord]) -> Bool {
        let faults = records.compactMap { $0.outcome?.fault }
        return !faults.isEmpty && faults.allSatisfy { $0.backtrace.contains { $0.symbol == symbol } }
    }

    /// Wall time of the calls that ended with `status` (the crashing calls by default).
    public static func timeLost(_ records: [CallRecord], to status: CallRecord.Status = .crashed) -> Double {
        records.filter { $0.status == status }.compactMap(\.seconds).reduce(0, +)
    }
}
