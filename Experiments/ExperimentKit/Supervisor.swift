#if canImport(Glibc)
import Glibc
#endif
import Faultline
import FaultlineHarness

/// The watchdog: starts misbehaving children, bounds every wait, sees what
/// they leave behind, and kills and reaps everything before the experiment ends.
///
/// Creating one makes this process a child subreaper, so orphaned grandchildren
/// (e.g. pool workers whose parent died) are re-parented to it and stay visible.
public final class Supervisor {
    private var children: [SupervisedChild] = []

    /// Becomes a subreaper.
    public init() { ProcessTable.becomeSubreaper() }

    /// Re-executes this binary as `--subject name arguments…` in its own process group.
    public func start(subject name: String, _ arguments: [String] = [], environment: [String: String] = [:]) throws -> SupervisedChild {
        try start(program: Victims.executablePath, ["--subject", name] + arguments, environment: environment)
    }

    /// Starts any program in its own process group, with `stdin` as its standard
    /// input (else /dev/null). The Swift runtime's crash
    /// backtracer is switched off in it (`SWIFT_BACKTRACE=enable=no`): the
    /// victims library carries the Swift runtime, whose reporter would
    /// otherwise spend milliseconds and pages of stderr on every crash.
    public func start(program: String, _ arguments: [String], environment: [String: String] = [:], stdin: String? = nil) throws -> SupervisedChild {
        let merged = environment.merging(["SWIFT_BACKTRACE": "enable=no"]) { mine, _ in mine }
        let child = SupervisedChild(try ChildProcess(program, arguments, environment: merged, stdin: stdin))
        children.append(child)
        return child
    }

    /// The live processes below this one (children first), as records.
    public func survivors() -> [ProcessRecord] {
        ProcessTable.descendants(of: getpid()).map(ProcessRecord.init(entry:))
    }

    /// Kills every child and every descendant, reaps them, and returns what is
    /// still alive afterwards (empty unless something could not be killed).
    @discardableResult
    public func cleanUp() -> [ProcessRecord] {
        for child in children { child.kill() }
        let me = getpid()
        let myGroup = getpgrp()
        let deadline = Clock.now() + 3
        while Clock.now() < deadline {
            let alive = ProcessTable.descendants(of: me)
            for entry in alive {
                if entry.group != myGroup && entry.group > 1 { Glibc.kill(-entry.group, SIGKILL) }
                Glibc.kill(entry.pid, SIGKILL)
            }
            // Reap our own children that are not ChildProcess objects (adopted orphans).
            for entry in ProcessTable.all() where entry.parent == me && !children.contains(where: { $0.pid == entry.pid }) {
                var status: Int32 = 0
                waitpid(entry.pid, &status, WNOHANG)
            }
            let unreaped = ProcessTable.all().contains { entry in
                entry.parent == me && !children.contains { $0.pid == entry.pid }
            }
            if alive.isEmpty && !unreaped {
                break
            }
            Clock.sleep(0.01)
        }
        return survivors()
    }
}

/// A child started by the ``Supervisor``.
public final class SupervisedChild {
    /// The process.
    public let process: ChildProcess
    /// Its pid (and process group id).
    public var pid: pid_t { process.pid }
    /// Monotonic time it was started.
    public let startedAt = Clock.now()

    init(_ process: ChildProcess) { self.process = process }

    /// Waits at most `seconds`; nil when it is still running.
    @discardableResult
    public func wait(_ seconds: Double) -> ExitStatus? { process.wait(timeout: max(0, seconds)) }

    /// The `@` lines it has written so far.
    public var lines: [SubjectLine] { SubjectChannel.lines(process.standardOutput) }

    /// Its standard error so far.
    public var standardError: String { process.standardError }

    /// Whether it is still running (not yet reaped).
    public var isRunning: Bool { process.exitStatus == nil && process.wait(timeout: 0) == nil }

    /// CPU seconds used by the child itself.
    public var cpuSeconds: Double { ProcessTable.entry(pid).map { Double($0.cpuTicks) / ticksPerSecond } ?? 0 }

    /// CPU seconds used by the child and its live descendants.
    public var treeCPUSeconds: Double {
        ([ProcessTable.entry(pid)].compactMap { $0 } + ProcessTable.descendants(of: pid))
            .reduce(0) { $0 + Double($1.cpuTicks) / ticksPerSecond }
    }

    /// The one-letter state of the child (R, S, D, Z…), or nil once gone.
    public var state: String? { ProcessTable.entry(pid).map { String($0.state) } }

    /// Waits until the child ends or `seconds` pass, sampling its output every
    /// 20 ms and noting when the number of `tag` lines last grew.
    public func watch(for seconds: Double, progress tag: String) -> Watch {
        let deadline = Clock.now() + seconds
        var count = lines.count(tag)
        var lastProgress = count > 0 ? Clock.now() - startedAt : 0.0
        while true {
            let status = wait(min(0.02, max(0, deadline - Clock.now())))
            let now = lines.count(tag)
            if now != count {
                count = now
                lastProgress = Clock.now() - startedAt
            }
            if status != nil || Clock.now() >= deadline {
                return Watch(status: status, progress: count, lastProgressAt: lastProgress, waited: Clock.now() - startedAt)
            }
        }
    }

    /// Kills its process group and reaps it.
    public func kill() { process.kill() }

    /// Sends a signal to the child alone (not its group).
    public func send(_ signal: Int32) { Glibc.kill(pid, signal) }
}

/// What ``SupervisedChild/watch(for:progress:)`` saw.
public struct Watch: Sendable {
    /// How it ended, or nil when it was still running at the deadline.
    public var status: ExitStatus?
    /// How many progress lines it had written.
    public var progress: Int
    /// Seconds after its start when the last progress line appeared.
    public var lastProgressAt: Double
    /// Seconds from its start to the end of the watch.
    public var waited: Double
    /// True when it was still running at the deadline.
    public var hung: Bool { status == nil }
}

/// Clock ticks per second of /proc CPU times.
let ticksPerSecond = Double(sysconf(Int32(_SC_CLK_TCK)))

extension ProcessRecord {
    /// A record of a /proc entry, with its command line.
    init(entry: ProcessTable.Entry) {
        var command = entry.name
        if let raw = Files.read("/proc/\(entry.pid)/cmdline"), !raw.isEmpty {
            let parts = raw.split(separator: "\0").map(String.init)
            var words = parts
            if let first = words.first, let slash = first.lastIndex(of: "/") { words[0] = String(first[first.index(after: slash)...]) }
            command = words.map { word in
                // Shorten long paths to their last component.
                word.count > 40 && word.contains("/") ? "…/" + (word.split(separator: "/").last.map(String.init) ?? word) : word
            }.joined(separator: " ")
        }
        self.init(pid: entry.pid, parent: entry.parent, state: String(entry.state), command: command,
                  cpuSeconds: Double(entry.cpuTicks) / ticksPerSecond)
    }
}
