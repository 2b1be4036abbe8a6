#if canImport(Glibc)
import Glibc
#endif
import Faultline
import Synchronization

/// Turns SIGINT and SIGTERM into an orderly stop: a thread waits for them
/// with `sigwait` (no Swift runs in a signal handler), runs the registered
/// cleanup (kill and reap the workers), and ends the process with 128+signal.
enum SignalWatcher {
    private static let stopping = Atomic<Bool>(false)
    private static let cleanup = Mutex<(@Sendable () -> Void)?>(nil)

    /// True once a signal arrived: what fails on other threads from then on is
    /// the stop itself, and the watcher is about to end the process.
    static var isStopping: Bool { stopping.load(ordering: .acquiring) }

    /// Sets what to run when a stop signal arrives.
    static func onStop(_ body: @escaping @Sendable () -> Void) {
        cleanup.withLock { $0 = body }
    }

    /// Blocks SIGINT and SIGTERM in this thread (threads made later inherit
    /// the mask; children reset it) and starts the waiting thread.
    static func start() {
        var set = stopSignals()
        pthread_sigmask(SIG_BLOCK, &set, nil)
        var thread = pthread_t()
        pthread_create(&thread, nil, { _ in
            var set = SignalWatcher.stopSignals()
            var signal: Int32 = 0
            while sigwait(&set, &signal) != 0 {}
            SignalWatcher.stopping.store(true, ordering: .releasing)
            let body = SignalWatcher.cleanup.withLock { $0 }
            body?()
            Descendants.killAll()
            StandardError.write("faultline: stopped by \(Signal(signal).name); workers killed")
            _exit(128 + signal)
        }, nil)
        pthread_detach(thread)
    }

    private static func stopSignals() -> sigset_t {
        var set = sigset_t()
        sigemptyset(&set)
        sigaddset(&set, SIGINT)
        sigaddset(&set, SIGTERM)
        return set
    }
}
