import Faultline
import FaultlineBenchResult
import FaultlineHarness
#if canImport(Glibc)
import Glibc
#endif

/// Running `faultline-floors`, the minimal C process that measures the floors at
/// the limit of the machine (Sources/FaultlineFloors/main.c), from the bench.
extension LimitFloors {
    /// The executable's file name.
    public static let executableName = "faultline-floors"

    /// `faultline-floors` next to the running executable: `swift build` puts it
    /// beside `faultline`, as it puts the victims library.
    public static var besideExecutable: String { Victims.executableFolder + "/" + executableName }

    /// Runs `executable` with `iterations` samples per figure, kills it (and its
    /// process group) after `timeout` seconds, and reads what it printed.
    /// Never throws: a missing executable, a failed start, the deadline, a
    /// non-zero exit or a missing figure all give floors that are not
    /// ``LimitFloors/available``, with the ``LimitFloors/reason``.
    public static func measure(executable: String = besideExecutable, iterations: Int = 2000,
                               timeout: Double = 60) -> LimitFloors {
        guard access(executable, X_OK) == 0 else { return .unavailable("no executable \(executable)") }
        let child: ChildProcess
        let status: ExitStatus?
        do {
            (child, status) = try ChildProcess.run(executable, [String(iterations)], timeout: timeout)
        } catch {
            return .unavailable("\(executableName) did not start: \(error)")
        }
        guard let status else { return .unavailable("\(executableName) killed after \(timeout) s") }
        var floors = LimitFloors.parse(child.standardOutput)
        if status != .exitCode(0) {
            let detail = child.standardError.split(separator: "\n").last.map { ": \($0)" } ?? ""
            floors.available = false
            floors.reason = "\(executableName) ended with \(status)\(detail)"
        }
        return floors
    }
}
