#if canImport(Glibc)
import Glibc
#endif
import CFaultline
import Foundation
import Faultline
import FaultlineHarness

/// One numbered experiment: its name, its flags, the subjects it runs in
/// supervised children, and the watchdog code that measures them.
///
/// `main()` dispatches on the command line (see ``ExperimentOptions``):
/// it runs the experiment, or one of its subjects, or the report renderer
/// (every experiment binary can render REPORT.md, see ``ReportRenderer``).
public struct Experiment {
    /// The body of a subject: gets its arguments, returns the exit status.
    public typealias Subject = ([String]) throws -> Int32
    /// The body of the experiment, run in the watchdog parent.
    public typealias Body = (inout ExperimentResult, ExperimentOptions, Supervisor) throws -> Void

    /// Two digits, e.g. `"01"`.
    public var id: String
    /// The name after the number, e.g. `"direct-call"`.
    public var name: String
    /// One line saying what it shows.
    public var title: String
    /// Experiment-specific numeric flags.
    public var flags: [NumericFlag]
    /// The budget when `--budget` is not given.
    public var defaultBudget: Double
    /// Subjects by name, run as `--subject NAME ARGS…`.
    public var subjects: [String: Subject]
    /// The watchdog side.
    public var body: Body

    /// Declares an experiment.
    public init(id: String, name: String, title: String, flags: [NumericFlag] = [], defaultBudget: Double = 3,
                subjects: [String: Subject] = [:], body: @escaping Body) {
        self.id = id
        self.name = name
        self.title = title
        self.flags = flags
        self.defaultBudget = defaultBudget
        self.subjects = subjects
        self.body = body
    }

    /// `01-direct-call`.
    public var target: String { "\(id)-\(name)" }

    /// Parses the command line, does what it says, and exits:
    /// 0 done, 1 the experiment could not run, 2 bad command line, 3 a subject failed to start.
    public func main() -> Never {
        let options: ExperimentOptions
        do {
            options = try ExperimentOptions.parse(Array(CommandLine.arguments.dropFirst()), defaultBudget: defaultBudget, flags: flags)
        } catch {
            fail(error, status: 2)
        }
        switch options.mode {
        case .help:
            Output.out(usage + "\n")
            exit(0)
        case .subject(let name, let arguments):
            exit(runSubject(name, arguments))
        case .renderReport(let results, let output):
            do {
                try ReportRenderer(resultsFolder: results).write(to: output)
                exit(0)
            } catch {
                fail(error, status: 1)
            }
        case .run:
            do {
                let result = try run(options)
                let text = ([target + ": " + result.title] + result.summary.map { "  " + $0 }).joined(separator: "\n") + "\n"
                if options.json {
                    Output.err(text)
                    Output.out(try Self.encode(result) + "\n")
                } else {
                    Output.out(text)
                }
                exit(0)
            } catch {
                fail(error, status: 1)
            }
        }
    }

    /// Runs the experiment under a fresh supervisor and returns its result
    /// (also used by tests that call ExperimentKit directly).
    public func run(_ options: ExperimentOptions) throws -> ExperimentResult {
        try Victims.check()
        let started = Clock.now()
        let supervisor = Supervisor()
        var result = ExperimentResult(id: id, name: name, title: title, budgetSeconds: options.budget)
        do {
            try body(&result, options, supervisor)
        } catch {
            supervisor.cleanUp()
            throw error
        }
        result.remainingAfterCleanup = supervisor.cleanUp()
        if !result.remainingAfterCleanup.isEmpty {
            result.summary.append("WARNING: \(result.remainingAfterCleanup.count) process(es) survived the clean-up")
        }
        result.elapsedSeconds = Clock.now() - started
        return result
    }

    /// The result as pretty, key-sorted JSON.
    public static func encode(_ result: ExperimentResult) throws -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        return String(decoding: try encoder.encode(result), as: UTF8.self)
    }

    private func runSubject(_ name: String, _ arguments: [String]) -> Int32 {
        do {
            if name == "naive-worker" {
                guard arguments.count == 2 else { throw UsageError("naive-worker expects LIBRARY SYMBOL") }
                try NaivePool.workerMain(library: arguments[0], symbol: arguments[1])
            }
            guard let subject = subjects[name] else { throw UsageError("unknown subject '\(name)'") }
            // A subject never outlives its watchdog, even if the watchdog is killed.
            fl_die_with_parent(SIGKILL, getppid())
            return try subject(arguments)
        } catch {
            Output.err("\(target) --subject \(name): \(error)\n")
            return 3
        }
    }

    private var usage: String {
        var lines = [
            "usage: \(target) [--json] [--budget SECONDS]" + flags.map { " [--\($0.name) N]" }.joined(),
            "",
            title,
            "",
            "  --json              print the result as JSON on stdout (the summary goes to stderr)",
            "  --budget SECONDS    longest wait for any misbehaving child (default \(Format.fixed(defaultBudget, digits: 0)))",
        ]
        for flag in flags {
            lines.append("  --\(flag.name) N".padding(toLength: 22, withPad: " ", startingAt: 0) + "\(flag.help) (default \(Format.measurement(flag.defaultValue, unit: "count")))")
        }
        lines += [
            "",
            "internal modes:",
            "  --subject NAME ARGS…                    run a supervised child (started by the experiment itself)",
            "  --render-report RESULTS_DIR OUTPUT.md   write the report from results (used by scripts/report)",
        ]
        return lines.joined(separator: "\n")
    }

    private func fail(_ error: Error, status: Int32) -> Never {
        Output.err("\(target): \(error)\n")
        exit(status)
    }
}
