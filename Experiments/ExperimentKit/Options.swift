/// The command line every experiment understands.
///
/// ```
/// NN-name [--json] [--budget SECONDS] [experiment flags]   run the experiment
/// NN-name --subject NAME [ARGS…]                          internal: the supervised child
/// NN-name --render-report RESULTS_DIR OUTPUT.md           internal: write REPORT.md
/// ```
///
/// `--json` prints the machine-readable ``ExperimentResult`` on stdout (the
/// human summary then goes to stderr). `--budget` bounds every wait of the
/// watchdog. Experiment-specific flags take one number each.
public struct ExperimentOptions: Sendable, Equatable {
    /// What the process was asked to do.
    public enum Mode: Sendable, Equatable {
        /// Run the experiment (the watchdog parent).
        case run
        /// Be the supervised child running the misbehaving code.
        case subject(name: String, arguments: [String])
        /// Render REPORT.md from a folder of results.
        case renderReport(results: String, output: String)
        /// Print usage.
        case help
    }

    /// What to do.
    public var mode: Mode = .run
    /// Print JSON instead of the human summary.
    public var json = false
    /// Seconds the watchdog waits for any one misbehaving child.
    public var budget: Double
    /// Values of the experiment-specific flags, by name without dashes.
    public var values: [String: Double]

    /// The value of an experiment flag (declared flags always have one).
    public subscript(flag: String) -> Double { values[flag] ?? .nan }

    /// Parses `arguments` (without the program name) against the declared flags.
    /// Throws a ``UsageError`` naming the bad argument.
    public static func parse(_ arguments: [String], defaultBudget: Double = 3, flags: [NumericFlag] = []) throws(UsageError) -> ExperimentOptions {
        var options = ExperimentOptions(budget: defaultBudget, values: [:])
        for flag in flags { options.values[flag.name] = flag.defaultValue }
        var index = 0
        func number(after flag: String) throws(UsageError) -> Double {
            guard index + 1 < arguments.count else { throw UsageError("\(flag) expects a number") }
            index += 1
            let text = arguments[index]
            guard let value = Double(text), value.isFinite else {
                throw UsageError("\(flag) expects a number, got '\(text)'")
            }
            return value
        }
        while index < arguments.count {
            let argument = arguments[index]
            switch argument {
            case "--json":
                options.json = true
            case "--budget":
                let value = try number(after: argument)
                guard value > 0 else { throw UsageError("--budget must be more than 0 seconds, got \(arguments[index])") }
                options.budget = value
            case "--help", "-h":
                options.mode = .help
            case "--subject":
                guard index + 1 < arguments.count else { throw UsageError("--subject expects a name") }
                options.mode = .subject(name: arguments[index + 1], arguments: Array(arguments[(index + 2)...]))
                return options
            case "--render-report":
                guard index + 2 < arguments.count else { throw UsageError("--render-report expects RESULTS_DIR OUTPUT.md") }
                options.mode = .renderReport(results: arguments[index + 1], output: arguments[index + 2])
                index += 2
            default:
                guard argument.hasPrefix("--"), let flag = flags.first(where: { "--" + $0.name == argument }) else {
                    throw UsageError("unknown argument '\(argument)' (try --help)")
                }
                let value = try number(after: argument)
                if let range = flag.range, !range.contains(value) {
                    throw UsageError("\(argument) must be between \(format(range.lowerBound)) and \(format(range.upperBound)), got \(arguments[index])")
                }
                options.values[flag.name] = value
            }
            index += 1
        }
        return options
    }

    private static func format(_ value: Double) -> String {
        value == value.rounded() ? String(Int(value)) : String(value)
    }
}

/// An experiment-specific flag that takes one number, e.g. `--workers 2`.
public struct NumericFlag: Sendable, Equatable {
    /// The name without dashes.
    public var name: String
    /// The value when the flag is absent.
    public var defaultValue: Double
    /// One line for `--help`.
    public var help: String
    /// Accepted values, when limited.
    public var range: ClosedRange<Double>?

    /// Declares a flag.
    public init(_ name: String, default defaultValue: Double, help: String, range: ClosedRange<Double>? = nil) {
        self.name = name
        self.defaultValue = defaultValue
        self.help = help
        self.range = range
    }
}

/// A bad command line: printed as one line on stderr, exit status 2.
public struct UsageError: Error, Equatable, CustomStringConvertible {
    /// What was wrong.
    public var message: String
    /// Creates the error.
    public init(_ message: String) { self.message = message }
    /// The message.
    public var description: String { message }
}
