#if canImport(Glibc)
import Glibc
#endif
import CFaultline
import Faultline
import Synchronization

/// A child process started with `posix_spawn`, watched through a pidfd, and
/// never left behind: the building block of every bounded test and experiment.
///
/// The child runs in a process group of its own; its stdout and stderr go to
/// files that can be read at any moment (no pipe can fill up and block it).
/// ``wait(timeout:)`` waits for the exit event, not by polling, and any number
/// of threads may wait at once: the reaped status is kept under a lock. Where
/// no pidfd can be opened (kernels before 5.3, seccomp), the deadline still
/// holds: the wait falls back to `waitpid(WNOHANG)` with short sleeps.
/// ``kill()`` ends the child's whole process group; `deinit` does it too and reaps.
public final class ChildProcess: Sendable {
    /// The child's process id (also its process group id).
    public let pid: pid_t
    /// The path its standard output is written to.
    public let stdoutPath: String
    /// The path its standard error is written to.
    public let stderrPath: String
    private let directory: String
    /// A pidfd of the child, or -1 when pidfd_open failed (then ``wait(timeout:)`` polls).
    private let pidfd: Int32
    /// The exit status once reaped. Every read and the reaping itself happen under this lock.
    private let status = Mutex<ExitStatus?>(nil)
    private let started = fl_now_ns()

    /// Starts `executable` with `arguments`; `environment` entries are added to
    /// (or replace) this process's environment. With `stdin`, that text is the
    /// child's standard input; otherwise it reads /dev/null.
    public convenience init(_ executable: String, _ arguments: [String] = [], environment: [String: String] = [:],
                            stdin: String? = nil) throws {
        try self.init(executable, arguments, environment: environment, stdin: stdin, usePidfd: true)
    }

    /// The seam of the tests: with `usePidfd` false the child is watched as if
    /// pidfd_open had failed, through the `waitpid(WNOHANG)` fallback.
    init(_ executable: String, _ arguments: [String], environment: [String: String], stdin: String?, usePidfd: Bool) throws {
        var template = Array("/tmp/faultline-child-XXXXXX".utf8CString)
        guard let made = mkdtemp(&template) else { throw SystemError("mkdtemp", errno: errno) }
        directory = String(cString: made)
        stdoutPath = directory + "/stdout"
        stderrPath = directory + "/stderr"
        let stdinPath = directory + "/stdin"
        if let stdin { try HarnessFile.write(stdin, to: stdinPath) }

        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, stdin == nil ? "/dev/null" : stdinPath, O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, stdoutPath, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        posix_spawn_file_actions_addopen(&actions, 2, stderrPath, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        posix_spawnattr_setpgroup(&attributes, 0)
        var defaults = sigset_t()
        sigemptyset(&defaults)
        for signal in [SIGINT, SIGTERM, SIGPIPE, SIGCHLD] { sigaddset(&defaults, signal) }
        posix_spawnattr_setsigdefault(&attributes, &defaults)
        var empty = sigset_t()
        sigemptyset(&empty)
        posix_spawnattr_setsigmask(&attributes, &empty)
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK))

        var merged: [String: String] = [:]
        var index = 0
        while let entry = environ[index] {
            let text = String(cString: entry)
            if let equals = text.firstIndex(of: "=") {
                merged[String(text[..<equals])] = String(text[text.index(after: equals)...])
            }
            index += 1
        }
        for (key, value) in environment { merged[key] = value }
        let argv = ([executable] + arguments).map { strdup($0) } + [nil]
        let envp = merged.map { strdup("\($0.key)=\($0.value)") } + [nil]
        defer {
            argv.forEach { free($0) }
            envp.forEach { free($0) }
        }
        var child: pid_t = 0
        let result = posix_spawn(&child, executable, &actions, &attributes, argv, envp)
        if result != 0 { throw SystemError("posix_spawn \(executable)", errno: result) }
        pid = child
        pidfd = usePidfd ? fl_pidfd_open(child) : -1
    }

    deinit {
        if exitStatus == nil { kill() }
        if pidfd >= 0 { close(pidfd) }
        unlink(stdoutPath)
        unlink(stderrPath)
        unlink(directory + "/stdin")
        rmdir(directory)
    }

    /// The exit status, once the child has ended and been reaped.
    public var exitStatus: ExitStatus? { status.withLock { $0 } }

    /// Seconds since the child was started.
    public var elapsed: Double { Double(fl_now_ns() - started) / 1e9 }

    /// Waits for the child to end, at most `timeout` (forever when nil).
    /// Returns its status, or nil when it is still running at the deadline.
    /// Safe to call from several threads at once: each gets the same status.
    @discardableResult
    public func wait(timeout: Double?) -> ExitStatus? {
        if let status = exitStatus { return status }
        let deadline = timeout.map { fl_now_ns() + Int64($0 * 1e9) }
        if pidfd >= 0 {
            // The exit event: readable once the child is a zombie. Waiting needs no lock.
            while true {
                var milliseconds: Int32 = -1
                if let deadline {
                    let left = deadline - fl_now_ns()
                    if left <= 0 { return reap().status }
                    milliseconds = Int32(min((left + 999_999) / 1_000_000, Int64(Int32.max)))
                }
                var descriptor = pollfd(fd: pidfd, events: Int16(POLLIN), revents: 0)
                let ready = poll(&descriptor, 1, milliseconds)
                if ready > 0 {
                    let (status, gone) = reap()
                    if status != nil || gone { return status }
                }
                if ready < 0 && errno != EINTR { break } // poll itself failed: fall back below
            }
        }
        // No pidfd: poll waitpid, with sleeps growing from 1 to 10 ms, until the deadline.
        var pause: UInt32 = 1_000
        while true {
            let (status, gone) = reap()
            if status != nil || gone { return status }
            if let deadline {
                let left = deadline - fl_now_ns()
                if left <= 0 { return nil }
                pause = min(pause, UInt32(min(left / 1_000 + 1, 10_000)))
            }
            usleep(pause)
            pause = min(pause * 2, 10_000)
        }
    }

    /// Reaps the child if it has ended (never blocks), under the lock, so that
    /// two waiting threads cannot both call waitpid and one of them lose the status.
    /// `gone` is true when the child can no longer be reaped by us (ECHILD): waiting longer is useless.
    private func reap() -> (status: ExitStatus?, gone: Bool) {
        status.withLock { status in
            if let status { return (status, false) }
            var raw: Int32 = 0
            let reaped = waitpid(pid, &raw, WNOHANG)
            guard reaped == pid else { return (nil, reaped < 0 && errno == ECHILD) }
            status = ExitStatus(waitStatus: raw)
            return (status, false)
        }
    }

    /// Sends `signal` to the child alone.
    public func send(_ signal: Signal) {
        // Under the lock: the pid cannot be reaped (and reused) while it is signalled.
        status.withLock { if $0 == nil { _ = Glibc.kill(pid, signal.rawValue) } }
    }

    /// Kills the child's whole process group with SIGKILL and reaps the child.
    public func kill() {
        Glibc.kill(-pid, SIGKILL)
        let running = status.withLock { status -> Bool in
            guard status == nil else { return false }
            Glibc.kill(pid, SIGKILL)
            return true
        }
        if running { wait(timeout: nil) }
    }

    /// Everything the child wrote to stdout so far.
    public var standardOutput: String { (try? HarnessFile.read(stdoutPath)) ?? "" }
    /// Everything the child wrote to stderr so far.
    public var standardError: String { (try? HarnessFile.read(stderrPath)) ?? "" }

    /// Starts a child, waits at most `timeout` seconds, kills it if needed.
    /// Returns the finished child (``exitStatus`` nil means it was killed at the deadline).
    public static func run(_ executable: String, _ arguments: [String] = [], environment: [String: String] = [:],
                           stdin: String? = nil, timeout: Double) throws -> (process: ChildProcess, status: ExitStatus?) {
        let child = try ChildProcess(executable, arguments, environment: environment, stdin: stdin)
        let status = child.wait(timeout: timeout)
        if status == nil { child.kill() }
        return (child, status)
    }
}

/// Whole-file reads and writes without Foundation (internal: Foundation has its own String(contentsOfFile:)).
enum HarnessFile {
    /// Writes `text` to a file (creating or truncating it).
    static func write(_ text: String, to path: String) throws {
        guard let file = fopen(path, "w") else { throw SystemError("fopen \(path)", errno: errno) }
        defer { fclose(file) }
        fputs(text, file)
    }

    /// Reads a whole file as UTF-8.
    static func read(_ path: String) throws -> String {
        guard let file = fopen(path, "r") else { throw SystemError("fopen \(path)", errno: errno) }
        defer { fclose(file) }
        var bytes: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 65536)
        while true {
            let count = fread(&buffer, 1, buffer.count, file)
            if count <= 0 { break }
            bytes.append(contentsOf: buffer[0..<count])
        }
        return String(decoding: bytes, as: UTF8.self)
    }
}
