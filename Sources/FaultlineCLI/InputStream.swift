#if canImport(Glibc)
import Glibc
#endif
import CFaultline

/// Standard input, one input per line, read and parsed on a thread of its
/// own while the calls run: results can stream out while a producer is
/// still writing, and a fast producer's lines pile up into large batches.
///
/// Blank lines are skipped. The first malformed line ends the stream: every
/// input before it is still handed out (and answered), then ``next(maximum:)``
/// returns `nil` and ``problem`` names the line.
final class InputStream<Input: Sendable>: @unchecked Sendable {
    private let format: InputFormat<Input>
    private let descriptorToRead: Int32
    private var lock = pthread_mutex_t()
    private var ready = pthread_cond_t()
    // Guarded by `lock`:
    private var pending: [Input] = []
    private var ended = false
    private var failure: InputProblem?

    /// Prepares to read descriptor `descriptor` (standard input) with `format`; ``start()`` begins.
    init(format: InputFormat<Input>, descriptor: Int32 = STDIN_FILENO) {
        self.format = format
        self.descriptorToRead = descriptor
        pthread_mutex_init(&lock, nil)
        pthread_cond_init(&ready, nil)
    }

    /// Takes standard input for Faultline's own reading and points descriptor 0
    /// at /dev/null: a callee that reads its standard input (in this process
    /// under the guard, or in any process Faultline starts or forks) reads
    /// nothing instead of taking the inputs still to come. The copy is
    /// close-on-exec and closed in every forked process. Returns the copy (0
    /// when it could not be made).
    static func claimStandardInput() -> Int32 {
        let ours = fcntl(STDIN_FILENO, F_DUPFD_CLOEXEC, 3)
        guard ours >= 0 else { return STDIN_FILENO }
        let null = open("/dev/null", O_RDONLY | O_CLOEXEC)
        if null >= 0 {
            dup2(null, STDIN_FILENO)
            close(null)
        }
        _ = fl_keep_out_of_children(ours)
        return ours
    }

    /// Starts the reader thread (after init, so that `self` is complete).
    func start() -> InputStream {
        if !DetachedThread.start({ self.readAll(descriptor: self.descriptorToRead) }) { finish(problem: nil) }
        return self
    }

    /// The malformed line that ended the stream, once ``next(maximum:)`` returned `nil`.
    var problem: InputProblem? {
        pthread_mutex_lock(&lock)
        defer { pthread_mutex_unlock(&lock) }
        return failure
    }

    /// Waits for at least one input and returns up to `maximum` of those
    /// read so far, in order; `nil` at the end of the stream.
    func next(maximum: Int) -> [Input]? {
        pthread_mutex_lock(&lock)
        defer { pthread_mutex_unlock(&lock) }
        while pending.isEmpty && !ended { pthread_cond_wait(&ready, &lock) }
        if pending.isEmpty { return nil }
        if pending.count <= maximum {
            defer { pending = [] }
            return pending
        }
        let batch = Array(pending.prefix(maximum))
        pending.removeFirst(maximum)
        return batch
    }

    private func deliver(_ input: Input) {
        pthread_mutex_lock(&lock)
        let wasEmpty = pending.isEmpty
        pending.append(input)
        if wasEmpty { pthread_cond_signal(&ready) }
        pthread_mutex_unlock(&lock)
    }

    private func finish(problem: InputProblem?) {
        pthread_mutex_lock(&lock)
        ended = true
        failure = problem
        pthread_cond_broadcast(&ready)
        pthread_mutex_unlock(&lock)
    }

    /// Reads until end of file or the first malformed line. Runs on the reader thread.
    private func readAll(descriptor: Int32) {
        var line: [UInt8] = []
        var lineNumber = 0
        var buffer = [UInt8](repeating: 0, count: 1 << 16)
        func take(_ bytes: ArraySlice<UInt8>) -> Bool {
            lineNumber += 1
            let text = Substring(String(decoding: bytes, as: UTF8.self)).trimmingSpaces()
            if text.isEmpty { return true }
            switch format.parse(text) {
            case .success(let input):
                deliver(input)
                return true
            case .failure(let kind):
                finish(problem: InputProblem(place: .line(lineNumber), problem: kind.problem, text: text))
                return false
            }
        }
        while true {
            let count = buffer.withUnsafeMutableBytes { read(descriptor, $0.baseAddress, $0.count) }
            if count < 0 && errno == EINTR { continue }
            if count <= 0 { break }
            var start = 0
            for index in 0..<count where buffer[index] == UInt8(ascii: "\n") {
                let ok: Bool
                if line.isEmpty {
                    ok = take(buffer[start..<index])
                } else {
                    line += buffer[start..<index]
                    ok = take(line[...])
                    line.removeAll(keepingCapacity: true)
                }
                if !ok { return }
                start = index + 1
            }
            line += buffer[start..<count]
        }
        if !line.isEmpty, !take(line[...]) { return }
        finish(problem: nil)
    }
}

/// A detached POSIX thread running a closure (Dispatch would do, but its
/// threads do not inherit this thread's signal mask).
enum DetachedThread {
    private final class Box {
        let body: () -> Void
        init(_ body: @escaping () -> Void) { self.body = body }
    }

    /// Runs `body` on a new detached thread; false when no thread could be made.
    static func start(_ body: @escaping () -> Void) -> Bool {
        let retained = Unmanaged.passRetained(Box(body)).toOpaque()
        var thread = pthread_t()
        let created = pthread_create(&thread, nil, { argument in
            Unmanaged<Box>.fromOpaque(argument!).takeRetainedValue().body()
            return nil
        }, retained)
        if created != 0 {
            Unmanaged<Box>.fromOpaque(retained).release()
            return false
        }
        pthread_detach(thread)
        return true
    }
}
