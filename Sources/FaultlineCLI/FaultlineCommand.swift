import ArgumentParser
#if canImport(Glibc)
import Glibc
#endif

/// The `faultline` command: call crash-prone native code (any C signature, with
/// any strategy) and print exact outcomes; or measure the strategies.
@main
struct FaultlineCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "faultline",
        abstract: "Call crash-prone native code and get an exact, typed outcome for every call.",
        discussion: """
        `faultline call LIBRARY SYMBOL` calls a function from a shared library once per input and \
        prints one JSON line per input, in input order, with its outcome: returned (the typed \
        value, and the output buffers), signaled (signal, fault address, backtrace), exited (the \
        status the callee passed to exit()), timed_out (with --timeout), corrupted (Faultline's \
        own record of the call was destroyed; never a guess), or with --sandbox violation (a \
        system call the sandbox denies). Faultline itself neither dies nor \
        hangs with the callee.

        Any C signature, named with --signature, e.g. 'double(string, double, out_string[64])': \
        integers, float, double, bool, strings, byte buffers and output buffers (without it: \
        int32(int32), one JSON integer per input). Strategies, with --strategy: pool (the \
        default: supervised worker processes; a crash fails exactly its input), fork (a fresh \
        process per call), guard (in this process, with signal handlers: fast, unsafe).

        `faultline triage LIBRARY SYMBOL` runs the inputs the same way and groups the failures \
        by bug: one group per crash bucket (signal, access and the top frames, named with file \
        and line), largest first, each with a command that reproduces it and how many of 3 \
        replays did.

        `faultline bench` measures every strategy against floors measured in the same run and \
        judges the targets. See 'faultline help call' for the whole contract.
        """,
        version: faultlineVersion,
        subcommands: [CallCommand.self, TriageCommand.self, BenchCommand.self]
    )

    /// Runs the command. Every failure of the command line itself (bad flag,
    /// malformed number, unloadable library, missing symbol) is one line on
    /// stderr and exit status 2; `--help` prints help and exits 0.
    static func main() {
        do {
            let (arguments, inputs) = Self.inputsAfterDashes(Self.spelledOut(Array(CommandLine.arguments.dropFirst())))
            var command = try parseAsRoot(arguments)
            if let inputs {
                if var call = command as? CallCommand {
                    call.options.inputs += inputs
                    command = call
                } else if var triage = command as? TriageCommand {
                    triage.options.inputs += inputs
                    command = triage
                }
            }
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

extension FaultlineCommand {
    /// For `call` and `triage`, the words after the first `--` (the inputs),
    /// taken off the command line before it is parsed: the argument parser
    /// matches each unrecognized word against the whole line, which took ~7 s
    /// for 16,000 inputs. Every input is still checked before any call.
    static func inputsAfterDashes(_ arguments: [String]) -> (arguments: [String], inputs: [String]?) {
        guard let command = arguments.first, command == "call" || command == "triage",
              let dashes = arguments.firstIndex(of: "--") else { return (arguments, nil) }
        return (Array(arguments[...dashes]), Array(arguments[(dashes + 1)...]))
    }

    /// The arguments with `--sandbox-learn=FILE` spelled out as `--sandbox-learn
    /// --sandbox-learn-file FILE` (an option whose value may be left out, which the
    /// argument parser has no form for); nothing after `--` is touched.
    static func spelledOut(_ arguments: [String]) -> [String] {
        var result: [String] = []
        var options = true
        for argument in arguments {
            if argument == "--" { options = false }
            if options, argument.hasPrefix("--sandbox-learn=") {
                result += ["--sandbox-learn", "--sandbox-learn-file", String(argument.dropFirst("--sandbox-learn=".count))]
            } else {
                result.append(argument)
            }
        }
        return result
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
