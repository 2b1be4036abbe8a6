#if canImport(Glibc)
import Glibc
#endif
import CFaultline

/// Progress on stderr, only when stderr is a terminal and the run is long
/// (more than two seconds), so that pipes and logs stay clean.
final class Progress {
    private let total: Int?
    private let started = fl_now_ns()
    private let enabled = isatty(STDERR_FILENO) == 1
    private var shown = false

    /// `total`: the number of inputs, or `nil` while they stream in.
    init(total: Int?) { self.total = total }

    /// Reports `done` of `total` inputs answered.
    func update(done: Int) {
        guard enabled, fl_now_ns() - started > 2_000_000_000 else { return }
        shown = true
        StandardError.writeRaw("\r\(done)\(total.map { "/\($0)" } ?? "") calls answered")
    }

    /// Ends the progress line.
    func finish() {
        if shown { StandardError.writeRaw("\n") }
    }
}
