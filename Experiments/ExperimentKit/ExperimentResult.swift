import Faultline

/// What one experiment measured: the JSON that `--json` prints and the report reads.
///
/// Every number in it was measured by the run that wrote it.
public struct ExperimentResult: Codable, Sendable {
    /// Two digits, e.g. `"02"`.
    public var id: String
    /// The target name without the number, e.g. `"pool-map-hang"`.
    public var name: String
    /// One line saying what the experiment runs.
    public var title: String
    /// The watchdog budget of this run, in seconds.
    public var budgetSeconds: Double
    /// Wall time of the whole experiment, in seconds.
    public var elapsedSeconds: Double = 0
    /// Human-readable lines of measured results (the summary).
    public var summary: [String] = []
    /// The blog's findings this experiment re-measures.
    public var findings: [FindingCheck] = []
    /// One record per input of the blog's list (or of the experiment's own list).
    public var calls: [CallRecord] = []
    /// Rows of the comparison table.
    public var strategies: [StrategyRow] = []
    /// Named figures.
    public var measurements: [Measurement] = []
    /// Processes still alive under the watchdog when the misbehaving child was gone.
    public var leftBehind: [ProcessRecord] = []
    /// Processes alive after the final clean-up (should always be empty).
    public var remainingAfterCleanup: [ProcessRecord] = []
    /// Set when the experiment could not run here, with the reason.
    public var skipped: String?
    /// Extra remarks about method or limits.
    public var notes: [String] = []
    /// Free-form text blocks shown verbatim (e.g. a backtrace).
    public var blocks: [TextBlock] = []
    /// Tables of verdicts (case × way of calling); nil in results that have none,
    /// so that results written before this field existed still decode.
    public var grids: [Grid]?

    /// Creates an empty result.
    public init(id: String, name: String, title: String, budgetSeconds: Double) {
        self.id = id
        self.name = name
        self.title = title
        self.budgetSeconds = budgetSeconds
    }

    /// The measurement with this key, if recorded.
    public func measurement(_ key: String) -> Double? { measurements.first { $0.key == key }?.value }

    /// Records a figure.
    public mutating func measure(_ key: String, _ value: Double, _ unit: String, _ label: String) {
        measurements.append(Measurement(key: key, label: label, value: value, unit: unit))
    }

    /// Records each metric the subject reported (`key`, unit, label); a metric it did not report is left out.
    public mutating func measure(_ lines: [SubjectLine], _ metrics: [(key: String, unit: String, label: String)]) {
        for (key, unit, label) in metrics {
            if let value = lines.metric(key) { measure(key, value, unit, label) }
        }
    }
}

/// One finding of the blog post beside what this run measured.
public struct FindingCheck: Codable, Sendable {
    /// 1 to 4, the numbering of ``Blog/findings``.
    public var number: Int
    /// Which runtime measured it: `"Swift"` or `"Python"`.
    public var language: String
    /// What was measured, one line.
    public var measured: String
    /// Whether the measurement agrees with the finding.
    public var confirmed: Bool

    /// Creates the record.
    public init(number: Int, language: String, measured: String, confirmed: Bool) {
        self.number = number
        self.language = language
        self.measured = measured
        self.confirmed = confirmed
    }
}

/// How one call ended, in the words of the strategy that made it.
public struct CallRecord: Codable, Sendable, Equatable {
    /// How exact the answer is.
    public enum Status: String, Codable, Sendable {
        /// The function returned `value`.
        case returned
        /// The strategy reports the exact signal (see `outcome` or `signal`).
        case crashed
        /// The strategy reports a failure that does not say what happened (a timeout, a broken pool).
        case failed
        /// No answer ever came (the caller hung or died first).
        case missing
    }

    /// The input passed to the function.
    public var input: Int32
    /// How the call ended.
    public var status: Status
    /// The returned value, when it returned.
    public var value: Int32?
    /// The signal name, when known exactly.
    public var signal: String?
    /// The exact outcome, when the strategy gives one.
    public var outcome: Outcome?
    /// With crash verification: the outcome of the same input run again alone in a fresh process.
    public var replay: Outcome?
    /// Short text as the strategy would show it, e.g. `TimeoutError after 0.25 s`.
    public var text: String
    /// Wall time of this call, when measured.
    public var seconds: Double?

    /// Creates a record.
    public init(input: Int32, status: Status, value: Int32? = nil, signal: String? = nil, outcome: Outcome? = nil, text: String, seconds: Double? = nil) {
        self.input = input
        self.status = status
        self.value = value
        self.signal = signal
        self.outcome = outcome
        self.text = text
        self.seconds = seconds
    }

    /// The record of an exact outcome.
    public init(input: Int32, outcome: Outcome, seconds: Double? = nil) {
        self.input = input
        self.outcome = outcome
        self.seconds = seconds
        switch outcome {
        case .returned(let value, _):
            status = .returned
            self.value = value.integer.flatMap { Int32(exactly: $0) }
            text = "returned \(value.json)"
        case .signaled(let fault):
            status = .crashed
            signal = fault.signal.name
            text = fault.description
        case .exited(let code):
            status = .crashed
            text = "exited with status \(code)"
        case .timedOut(let after):
            status = .failed
            text = "timed out after \(Format.seconds(after.seconds))"
        case .corrupted(let detail):
            status = .failed
            text = "corrupted: \(detail)"
        case .violation(let violation):
            status = .failed
            text = "violation: \(violation)"
        }
    }
}

/// One row of the comparison table: a way of calling crash-prone code, and what it did here.
///
/// Each yes/no is nil when it does not apply, and comes with the evidence of this run.
public struct StrategyRow: Codable, Sendable {
    /// Short name, e.g. `fork per call`.
    public var strategy: String
    /// `"Swift"` or `"Python"`.
    public var language: String
    /// The experiment that measured it, e.g. `"06"`.
    public var experiment: String
    /// Every input after a crash still got its own correct answer.
    public var recovers: Bool?
    /// The caller waited without end (stopped by the watchdog).
    public var hangs: Bool?
    /// A deadline is needed to get an answer for a crash.
    public var needsTimeout: Bool?
    /// The caller learns which signal ended the call.
    public var exactSignal: Bool?
    /// The caller gets a backtrace of the fault.
    public var backtrace: Bool?
    /// The calling process is still trustworthy after a crash.
    public var safeAfterwards: Bool?
    /// Mean wall time of one call that returns (seconds).
    public var costPerCall: Double?
    /// Mean wall time of one call that crashes, until the caller knows (seconds).
    public var costPerCrash: Double?
    /// Said instead of `costPerCrash` when there is no finite figure (e.g. "never answers").
    public var costPerCrashNote: String?
    /// Wall time spent on the crashing inputs of the blog's list (seconds).
    public var timeLostToCrashes: Double?
    /// Whether this strategy was given a per-call deadline in this run.
    public var usesTimeout: Bool
    /// The evidence, one short phrase.
    public var evidence: String

    /// Creates a row.
    public init(strategy: String, language: String, experiment: String, recovers: Bool?, hangs: Bool?, needsTimeout: Bool?,
                exactSignal: Bool?, backtrace: Bool?, safeAfterwards: Bool?, costPerCall: Double?, costPerCrash: Double?,
                costPerCrashNote: String? = nil, timeLostToCrashes: Double? = nil, usesTimeout: Bool = false, evidence: String) {
        self.strategy = strategy
        self.language = language
        self.experiment = experiment
        self.recovers = recovers
        self.hangs = hangs
        self.needsTimeout = needsTimeout
        self.exactSignal = exactSignal
        self.backtrace = backtrace
        self.safeAfterwards = safeAfterwards
        self.costPerCall = costPerCall
        self.costPerCrash = costPerCrash
        self.costPerCrashNote = costPerCrashNote
        self.timeLostToCrashes = timeLostToCrashes
        self.usesTimeout = usesTimeout
        self.evidence = evidence
    }
}

/// A named figure.
public struct Measurement: Codable, Sendable, Equatable {
    /// Stable key, e.g. `cpu_percent`.
    public var key: String
    /// Human label.
    public var label: String
    /// The value.
    public var value: Double
    /// Its unit: `s`, `%`, `bytes`, `count`…
    public var unit: String
}

/// A process seen alive by the watchdog.
public struct ProcessRecord: Codable, Sendable, Equatable {
    /// Its id.
    public var pid: Int32
    /// Its parent when seen.
    public var parent: Int32
    /// One-letter state from /proc (S sleeping, R running…).
    public var state: String
    /// Its command line.
    public var command: String
    /// CPU time it had used, in seconds.
    public var cpuSeconds: Double

    /// Creates a record.
    public init(pid: Int32, parent: Int32, state: String, command: String, cpuSeconds: Double) {
        self.pid = pid
        self.parent = parent
        self.state = state
        self.command = command
        self.cpuSeconds = cpuSeconds
    }
}

/// A block of text shown as is, with a caption.
public struct TextBlock: Codable, Sendable {
    /// What the block shows.
    public var caption: String
    /// The text.
    public var text: String
    /// Creates a block.
    public init(caption: String, text: String) {
        self.caption = caption
        self.text = text
    }
}
