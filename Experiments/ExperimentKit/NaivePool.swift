#if canImport(Glibc)
import Glibc
#endif
import Foundation
import Faultline
import FaultlineHarness

/// A deliberately naive pool of worker processes, built the way
/// `multiprocessing.Pool` is: workers take tasks from one shared queue (a
/// pipe) and put results on another; a dead worker is replaced so the pool
/// keeps its size, but nobody notices which task died with it.
///
/// It exists to reproduce, in a process we control, the two patterns of the
/// write-up: ``map(_:)`` waits for every result and hangs once a task is lost;
/// ``apply(_:_:timeout:)`` waits for one result with a deadline and so
/// recovers, at the price of the whole deadline per crash.
///
/// Workers are this executable re-executed as `--subject naive-worker LIB SYMBOL`
/// (a fresh process, so Swift may run in it). Like forked Python workers they
/// inherit both ends of both queues, so an orphaned worker waits forever
/// instead of seeing end-of-file. Meant for subject processes only.
public final class NaivePool: @unchecked Sendable {
    private let library: String
    private let symbol: String
    private let taskRead: Int32, taskWrite: Int32, resultRead: Int32, resultWrite: Int32
    private let lock = NSLock()
    private var workers: Set<pid_t> = []
    private var closing = false
    private var stash: [Int32: Int32] = [:]
    /// How many workers have been started, replacements included.
    public private(set) var started = 0
    /// How many workers have died.
    public private(set) var deaths = 0

    /// Starts `count` workers calling `symbol` from `library`.
    public init(library: String, symbol: String, workers count: Int) throws {
        self.library = library
        self.symbol = symbol
        var tasks: [Int32] = [0, 0], results: [Int32] = [0, 0]
        guard pipe(&tasks) == 0, pipe(&results) == 0 else { throw SystemError("pipe", errno: errno) }
        for fd in tasks + results { _ = fcntl(fd, F_SETFD, FD_CLOEXEC) }
        (taskRead, taskWrite, resultRead, resultWrite) = (tasks[0], tasks[1], results[0], results[1])
        Monitor.shared.register(self)
        for _ in 0..<count { try spawnWorker() }
    }

    /// The live workers' pids.
    public var workerPIDs: [pid_t] { lock.withLock { Array(workers) } }

    /// The `map` pattern: queues every input, then waits for every result,
    /// with no deadline and no idea that a task may be gone. With `announce`,
    /// each result is written as `@result index value` as it arrives.
    public func map(_ inputs: [Int32], announce: Bool = true) -> [Int32] {
        for (index, input) in inputs.enumerated() { submit(Int32(index), input) }
        var values = [Int32?](repeating: nil, count: inputs.count)
        var received = 0
        while received < inputs.count {
            guard let (index, value) = nextResult(deadline: nil) else { continue }
            guard values.indices.contains(Int(index)), values[Int(index)] == nil else { continue }
            values[Int(index)] = value
            received += 1
            if announce { SubjectChannel.emit("result", String(index), String(value)) }
        }
        return values.map { $0! }
    }

    /// The `apply_async(...).get(timeout:)` pattern: queues one input and waits
    /// at most `timeout` seconds for its result. Nil means the deadline passed.
    public func apply(_ index: Int32, _ input: Int32, timeout: Double) -> Int32? {
        submit(index, input)
        return result(for: index, deadline: Clock.now() + timeout)
    }

    /// Waits until `deadline` for the result of task `index` (which may arrive late).
    public func result(for index: Int32, deadline: Double) -> Int32? {
        if let value = lock.withLock({ stash.removeValue(forKey: index) }) { return value }
        while let (got, value) = nextResult(deadline: deadline) {
            if got == index { return value }
            lock.withLock { stash[got] = value }
        }
        return nil
    }

    /// Kills every worker, stops replacing them, and waits (at most a second)
    /// until the monitor has reaped them.
    public func close() {
        let pids = lock.withLock { () -> Set<pid_t> in
            closing = true
            return workers
        }
        for pid in pids { kill(pid, SIGKILL) }
        let deadline = Clock.now() + 1
        while Clock.now() < deadline && lock.withLock({ !workers.isEmpty }) { Clock.sleep(0.002) }
    }

    private func submit(_ index: Int32, _ input: Int32) {
        var message: (Int32, Int32) = (index, input)
        _ = withUnsafeBytes(of: &message) { write(taskWrite, $0.baseAddress, 8) }
    }

    private func nextResult(deadline: Double?) -> (Int32, Int32)? {
        while true {
            var timeout: Int32 = -1
            if let deadline {
                let left = deadline - Clock.now()
                if left <= 0 { return nil }
                timeout = Int32((left * 1000).rounded(.up))
            }
            var descriptor = pollfd(fd: resultRead, events: Int16(POLLIN), revents: 0)
            let ready = poll(&descriptor, 1, timeout)
            if ready < 0 && errno == EINTR { continue }
            if ready <= 0 { if deadline == nil { continue } else { return nil } }
            var message: (Int32, Int32) = (0, 0)
            let count = withUnsafeMutableBytes(of: &message) { read(resultRead, $0.baseAddress, 8) }
            if count == 8 { return message }
        }
    }

    private func spawnWorker() throws {
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        // dup2 clears close-on-exec on the copies: the worker holds all four ends.
        posix_spawn_file_actions_adddup2(&actions, taskRead, 3)
        posix_spawn_file_actions_adddup2(&actions, resultWrite, 4)
        posix_spawn_file_actions_adddup2(&actions, taskWrite, 5)
        posix_spawn_file_actions_adddup2(&actions, resultRead, 6)
        let path = Victims.executablePath
        let words: [String] = [path, "--subject", "naive-worker", library, symbol]
        let argv = words.map { strdup($0) } + [nil]
        defer { argv.forEach { free($0) } }
        var pid: pid_t = 0
        let result = posix_spawn(&pid, path, &actions, nil, argv, environ)
        guard result == 0 else { throw SystemError("posix_spawn worker", errno: result) }
        lock.withLock {
            workers.insert(pid)
            started += 1
        }
        SubjectChannel.emit("worker-started", String(pid))
    }

    /// Called by the monitor when `pid` ended; true when it was one of this pool's workers.
    fileprivate func workerEnded(_ pid: pid_t, status: Int32) -> Bool {
        let replace = lock.withLock { () -> Bool? in
            guard workers.remove(pid) != nil else { return nil }
            deaths += 1
            return !closing
        }
        guard let replace else { return false }
        SubjectChannel.emit("worker-died", String(pid), ExitStatus(waitStatus: status).description.replacingOccurrences(of: " ", with: "_"))
        if replace { try? spawnWorker() }
        return true
    }

    /// The worker's loop: read `(index, input)`, call, write `(index, value)`. Never returns.
    static func workerMain(library: String, symbol: String) throws -> Never {
        let function = try NativeFunction(library: library, symbol: symbol)
        while true {
            var message: (Int32, Int32) = (0, 0)
            let count = withUnsafeMutableBytes(of: &message) { read(3, $0.baseAddress, 8) }
            if count == 0 { exit(0) }
            if count != 8 { if errno == EINTR { continue } else { exit(1) } }
            message.1 = function.pointer(message.1)
            _ = withUnsafeBytes(of: &message) { write(4, $0.baseAddress, 8) }
        }
    }
}

/// One thread per process reaps every child and hands each death to the pool
/// that owns the worker (several pools may live in one subject).
private final class Monitor: @unchecked Sendable {
    static let shared = Monitor()
    private let lock = NSLock()
    private var pools: [NaivePool] = []
    private var running = false

    func register(_ pool: NaivePool) {
        let start = lock.withLock { () -> Bool in
            pools.append(pool)
            defer { running = true }
            return !running
        }
        if start { Thread { self.loop() }.start() }
    }

    private func loop() {
        while true {
            var status: Int32 = 0
            let pid = waitpid(-1, &status, 0)
            if pid < 0 {
                if errno == ECHILD { Clock.sleep(0.005) }
                continue
            }
            for pool in lock.withLock({ pools }) where pool.workerEnded(pid, status: status) { break }
        }
    }
}
