/// A table of verdicts: one row per case an experiment tries, one column per
/// way of calling, one ``GridCell`` in each place (experiment 10: hostile
/// behaviour × strategy; experiment 14: what a taken-over callee tries × caller).
///
/// Every cell carries its evidence (the record of the input under test, the
/// counts of the other inputs, how the caller ended, what it left behind); the
/// verdict and the short text are derived from that evidence by the
/// experiment, never typed in. ``markdown`` is what the report shows.
public struct Grid: Codable, Sendable {
    /// What the table shows, one line.
    public var caption: String
    /// The heading of the first column, e.g. `behaviour`.
    public var rowTitle: String
    /// The rows, in order.
    public var rows: [GridAxis]
    /// The columns, in order.
    public var columns: [GridAxis]
    /// The cells, any order; at most one per row and column.
    public var cells: [GridCell]

    /// Creates a grid.
    public init(caption: String, rowTitle: String, rows: [GridAxis], columns: [GridAxis], cells: [GridCell] = []) {
        self.caption = caption
        self.rowTitle = rowTitle
        self.rows = rows
        self.columns = columns
        self.cells = cells
    }

    /// The cell at `row` and `column` (keys), if there is one.
    public func cell(row: String, column: String) -> GridCell? {
        cells.first { $0.row == row && $0.column == column }
    }

    /// How many cells of `column` got each verdict.
    public func tally(column: String) -> [GridVerdict: Int] {
        var counts: [GridVerdict: Int] = [:]
        for cell in cells where cell.column == column { counts[cell.verdict, default: 0] += 1 }
        return counts
    }

    /// The table in Markdown: a cell's text, in bold when its verdict is
    /// ``GridVerdict/wrong``, ``GridVerdict/hang`` or ``GridVerdict/escaped``; `—` where no cell exists.
    public var markdown: String {
        var lines = [
            "| \(rowTitle) | " + columns.map { escape($0.label) }.joined(separator: " | ") + " |",
            "|---|" + String(repeating: "---|", count: columns.count),
        ]
        for row in rows {
            let texts = columns.map { column -> String in
                guard let cell = cell(row: row.key, column: column.key) else { return "—" }
                let text = escape(cell.text)
                return [.wrong, .hang, .escaped].contains(cell.verdict) ? "**\(text)**" : text
            }
            lines.append("| \(escape(row.label)) | " + texts.joined(separator: " | ") + " |")
        }
        return lines.joined(separator: "\n")
    }

    private func escape(_ text: String) -> String {
        text.replacingOccurrences(of: "|", with: "\\|").replacingOccurrences(of: "\n", with: " ")
    }
}

/// A row or a column of a ``Grid``: a stable key and the label the report shows.
public struct GridAxis: Codable, Sendable, Equatable {
    /// Stable key, e.g. `kill-group-term`.
    public var key: String
    /// Label, e.g. `kill(0, SIGTERM)`.
    public var label: String

    /// Creates an axis entry.
    public init(key: String, label: String) {
        self.key = key
        self.label = label
    }
}

/// What a cell of a ``Grid`` amounts to, from best to worst.
public enum GridVerdict: String, Codable, Sendable, CaseIterable, Comparable {
    /// The input under test got its true outcome, every other input its own, nothing was left behind.
    case exact
    /// No false answer and nothing missing, but the input under test was
    /// reported as a failure that claims nothing false (e.g. `corrupted`).
    case honest
    /// Every answer right or honest, but processes were left behind afterwards.
    case leaked
    /// No false answer, but some inputs got none (the caller died or gave up with an error).
    case failed
    /// At least one input got a false answer (a wrong value, a false exit or signal).
    case wrong
    /// The caller was still running when the watchdog's deadline passed.
    case hang
    /// The way of calling is not available here (e.g. a Python package is missing).
    case unavailable
    /// Containment grids (experiment 14): what the callee tried did not happen
    /// outside its process (denied, or ended by a limit or a deadline).
    case contained
    /// Containment grids: it happened, where nothing was meant to stop it (no sandbox,
    /// or a path the sandbox allows).
    case reached
    /// Containment grids: it happened under a sandbox meant to stop it.
    case escaped

    /// The order of the cases above.
    public static func < (lhs: GridVerdict, rhs: GridVerdict) -> Bool {
        allCases.firstIndex(of: lhs)! < allCases.firstIndex(of: rhs)!
    }
}

/// One cell of a ``Grid``, with its evidence.
public struct GridCell: Codable, Sendable {
    /// The row's key.
    public var row: String
    /// The column's key.
    public var column: String
    /// The verdict, derived from the evidence below.
    public var verdict: GridVerdict
    /// The short text the table shows, e.g. `returned 5` or `hang`.
    public var text: String
    /// The caller ended (normally or not) before the deadline.
    public var finished: Bool
    /// Wall time from the caller's start until it ended or the deadline passed.
    public var seconds: Double
    /// The watchdog's deadline for this cell, in seconds.
    public var deadline: Double
    /// How the caller process ended (`exit code 0`, `signal SIGKILL`), nil when it did not.
    public var callerExit: String?
    /// An error the caller reported instead of outcomes (first line).
    public var error: String?
    /// The record of the input under test, when the caller reported one.
    public var focus: CallRecord?
    /// The other inputs, how many got exactly their true outcome, a false one, or none.
    public var othersExact: Int
    /// See ``othersExact``.
    public var othersWrong: Int
    /// See ``othersExact``.
    public var othersMissing: Int
    /// Others that crashed in a used worker and returned their true value when
    /// replayed alone (crash verification flagged them: honest, not exact).
    public var othersCleared: Int?
    /// Processes of this cell still alive once its caller had ended (then killed).
    public var leftBehind: [ProcessRecord]

    /// Creates a cell.
    public init(row: String, column: String, verdict: GridVerdict, text: String, finished: Bool, seconds: Double, deadline: Double,
                callerExit: String? = nil, error: String? = nil, focus: CallRecord? = nil,
                othersExact: Int = 0, othersWrong: Int = 0, othersMissing: Int = 0, othersCleared: Int = 0,
                leftBehind: [ProcessRecord] = []) {
        self.row = row
        self.column = column
        self.verdict = verdict
        self.text = text
        self.finished = finished
        self.seconds = seconds
        self.deadline = deadline
        self.callerExit = callerExit
        self.error = error
        self.focus = focus
        self.othersExact = othersExact
        self.othersWrong = othersWrong
        self.othersMissing = othersMissing
        self.othersCleared = othersCleared
        self.leftBehind = leftBehind
    }
}
