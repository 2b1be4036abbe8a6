import FaultlineBenchResult
import CFaultline
import Faultline
#if canImport(Glibc)
import Glibc
#endif

/// Measures what Faultline's way of loading libunwind saves C++: the cost of one
/// throw/catch (`fl_cxx_throw_catch`) in a process where the guard has loaded
/// libunwind with dlopen(RTLD_LOCAL) (what Faultline does), against the same
/// in a process where libunwind.so.8 is bound process-wide (LD_PRELOAD, the
/// effect of linking it). Each is measured by `faultline bench
/// --unwinder-probe` in a child of its own, under a deadline.
enum Unwinder {
    /// Runs the probe twice (confined, then with LD_PRELOAD=libunwind.so.8). Never throws.
    static func measure(executable: String, library: String, seconds: Double) -> UnwinderFigures {
        var figures = UnwinderFigures()
        let arguments = ["bench", "--unwinder-probe", "--library", library, "--seconds", String(seconds)]
        for global in [false, true] {
            let environment = global ? ["LD_PRELOAD": "libunwind.so.8"] : [:]
            guard let result = try? BenchChildren.run(executable, arguments, environment: environment, timeout: seconds * 4 + 20),
                  result.status == .exitCode(0) else {
                figures.note = "the \(global ? "process-wide" : "confined") probe failed or passed its deadline"
                continue
            }
            let (numbers, words) = BenchChildren.keyValues(result.process.standardOutput)
            let throwNs = numbers["throw_ns"]
            let unwinder = words["unwinder"]
            if global {
                figures.globalThrowNs = throwNs
                figures.globalUnwinder = unwinder
            } else {
                figures.confinedThrowNs = throwNs
                figures.confinedUnwinder = unwinder
            }
        }
        return figures
    }

    /// The probe (`--unwinder-probe`): one guarded fault with a backtrace (so
    /// libunwind is loaded the way Faultline loads it), then throw/catch timed
    /// in C++. Prints `throw_ns N` and `unwinder PATH`. Returns the exit status.
    static func probe(library: String, seconds: Double, output: any BenchOutput) -> Int32 {
        let throwing: NativeFunction
        do {
            _ = try GuardStrategy(NativeFunction(library: library, symbol: "fl_null_write")).call(1)
            throwing = try NativeFunction(library: library, symbol: "fl_cxx_throw_catch")
        } catch {
            BenchLog.write("probe: \(error)")
            return 1
        }
        let perCall: Int32 = 1000
        _ = throwing.pointer(perCall) // warm up
        guard let batches = StrategyBench.timeEach(seconds: seconds, { _ = throwing.pointer(perCall) }) else { return 1 }
        var unwinder = "none"
        if let symbol = dlsym(UnsafeMutableRawPointer(bitPattern: 0), "_Unwind_RaiseException") {
            unwinder = Symbolizer.frame(for: UInt64(UInt(bitPattern: symbol))).image ?? "unknown"
        }
        output.write("throw_ns \(batches.p50 / Double(perCall))")
        output.write("unwinder \(unwinder)")
        output.flush()
        return 0
    }
}
