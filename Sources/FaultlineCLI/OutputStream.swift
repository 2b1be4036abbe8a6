import CFaultline
import Faultline
#if canImport(Glibc)
import Glibc
#endif

/// Faultline's machine-readable output, kept apart from anything a callee prints.
///
/// `claimStandardOutput()` duplicates descriptor 1 for our own use and then
/// points descriptor 1 at stderr: a callee (or a library constructor) that
/// prints to stdout in this process ends up on stderr, and stdout carries only
/// what is written through this stream.
final class OutputStream {
    private let descriptor: Int32
    private var buffer: [UInt8] = []

    private init(descriptor: Int32) {
        self.descriptor = descriptor
        buffer.reserveCapacity(1 << 16)
    }

    /// Ends the command with status 74 (EX_IOERR) and one line on stderr when
    /// descriptor 1 is closed: the results would have nowhere to go (and the
    /// next descriptor opened would take its place).
    static func requireStandardOutput() {
        if fcntl(STDOUT_FILENO, F_GETFD) < 0 {
            StandardError.write("faultline: standard output is closed: the results cannot be written")
            Glibc.exit(74)
        }
    }

    /// Takes stdout for Faultline's output and sends descriptor 1 to stderr.
    /// The copy is close-on-exec (no helper or program Faultline starts gets it)
    /// and closed in every process Faultline forks (a callee that writes to every
    /// descriptor cannot reach it).
    static func claimStandardOutput() -> OutputStream {
        fflush(nil)
        let ours = fcntl(STDOUT_FILENO, F_DUPFD_CLOEXEC, 3)
        dup2(STDERR_FILENO, STDOUT_FILENO)
        if ours >= 0 { _ = fl_keep_out_of_children(ours) }
        return OutputStream(descriptor: ours >= 0 ? ours : STDOUT_FILENO)
    }

    /// Appends the JSON line of `outcome` (see `Outcome.jsonLine`) straight into the buffer.
    func write(_ outcome: Outcome, inputJSON: String, replay: Outcome?, extra: String) {
        outcome.appendJSONLine(to: &buffer, inputJSON: inputJSON, replay: replay, extra: extra)
        if buffer.count >= 1 << 16 { flush() }
    }

    /// Appends a line (a newline is added).
    func write(_ line: String) {
        buffer.append(contentsOf: line.utf8)
        buffer.append(UInt8(ascii: "\n"))
        if buffer.count >= 1 << 16 { flush() }
    }

    /// Writes what is buffered. If the results cannot be written (a callee
    /// under the guard closed the descriptor, a closed pipe…), the command
    /// must not exit 0 as if every input had been answered: it says so and
    /// exits with status 74 (EX_IOERR).
    func flush() {
        var offset = 0
        while offset < buffer.count {
            let written = buffer.withUnsafeBytes { Glibc.write(descriptor, $0.baseAddress! + offset, $0.count - offset) }
            if written < 0 {
                if errno == EINTR { continue }
                StandardError.write("faultline: cannot write the results: \(String(cString: strerror(errno)))")
                Descendants.killAll()
                Glibc.exit(74)
            }
            offset += written
        }
        buffer.removeAll(keepingCapacity: true)
    }
}
