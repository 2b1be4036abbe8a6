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

    /// Runs `executable` with `iterations` samples per figure (and crashes of the
    /// crash floor, in `library`: nil, the victims beside it), kills it (and its
    /// process group) after `timeout` seconds, and reads what it printed.
    /// Never throws: a missing executable, a failed start, the deadline, a
    /// non-zero exit or a missing figure all give floors that are not
    /// ``LimitFloors/available``, with the ``LimitFloors/reason``.
    public static func measure(executable: String = besideExecutable, iterations: Int = 2000, library: String? = nil,
                               timeout: Double = 60) -> LimitFloors {
        guard access(executable, X_OK) == 0 else { return .unavailable("no executable \(executable)") }
        let child: ChildProcess
        let status: ExitStatus?
        do {
            (child, status) = try ChildProcess.run(executable, [String(iterations)] + (library.map { [$0] } ?? []), timeout: timeout)
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

    /// The crash floor alone (`faultline-floors --only fork_crash_unwind CRASHES LIBRARY`):
    /// crashes per second, or why there is none.
    public static func crashFloor(executable: String = besideExecutable, crashes: Int, library: String,
                                  timeout: Double = 60) -> (perSecond: Double?, note: String?) {
        guard access(executable, X_OK) == 0 else { return (nil, "not available: no executable \(executable)") }
        do {
            let (child, status) = try ChildProcess.run(executable, ["--only", crashFloorName, String(crashes), library],
                                                       timeout: timeout)
            guard let status else { return (nil, "not available: \(executableName) killed after \(timeout) s") }
            let floors = LimitFloors.parse(child.standardOutput)
            if status == .exitCode(0), let rate = floors.forkCrashUnwindPerSecond { return (rate, nil) }
            let detail = child.standardError.split(separator: "\n").last.map { ": \($0)" } ?? ""
            return (nil, "not available: \(executableName) --only \(crashFloorName) ended with \(status)\(detail)")
        } catch {
            return (nil, "not available: \(executableName) did not start: \(error)")
        }
    }
}
