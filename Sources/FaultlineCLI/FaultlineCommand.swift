import ArgumentParser
#if canImport(Glibc)
import Glibc
#endif

/// The `faultline` command: call crash-prone native code and print exact outcomes.
@main
struct FaultlineCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "faultline",
        abstract: "Call crash-prone native code and get an exact, typed outcome for every call.",
        discussion: """
        Faultline calls `int f(int)` functions from shared libraries and reports, for each input, \
        whether the call returned, was killed by a signal (with fault address and backtrace), \
        ended its process with exit(), or passed a deadline — without dying or hanging itself.
        """,
        version: faultlineVersion,
        subcommands: [CallCommand.self, BenchCommand.self]
    )

    /// Runs the command. Every failure of the command line itself (bad flag,
    /// malformed number, unloadable library, missing symbol) is one line on
    /// stderr and exit status 2; `--help` prints help and exits 0.
    static func main() {
        do {
            var command = try parseAsRoot()
            try command.run()
        } catch {
            // A run that failed because SIGINT/SIGTERM stopped the workers: the watcher exits.
            while SignalWatcher.isStopping { pause() }
            let code = exitCode(for: error)
            if code == .success {
                print(fullMessage(for: error))
                Glibc.exit(0)
            }
            if let exit = error as? ExitCode { Glibc.exit(exit.rawValue) }
            let message = message(for: error)
                .split(separator: "\n").first.map(String.init) ?? "\(error)"
            StandardError.write("faultline: \(message)")
            Glibc.exit(2)
        }
    }
}

/// Lines for humans on standard error (never on stdout, which is for JSON).
enum StandardError {
    /// Writes `line` and a newline to descriptor 2.
    static func write(_ line: String) { writeRaw(line + "\n") }

    /// Writes `text` as it is (no newline added).
    static func writeRaw(_ text: String) {
        let bytes = Array(text.utf8)
        _ = bytes.withUnsafeBytes { Glibc.write(STDERR_FILENO, $0.baseAddress, $0.count) }
    }
}
