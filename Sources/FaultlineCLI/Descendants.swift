#if canImport(Glibc)
import Glibc
#endif
import CFaultline

/// Nothing a callee starts outlives the command.
///
/// `faultline call` makes itself a child subreaper: a process a callee starts
/// and abandons — double-forked, `setsid`, whatever its group or session — is
/// re-parented to this process instead of to init once its parent is gone.
/// When the command ends (normally, with an error, or stopped by SIGINT or
/// SIGTERM) every remaining child is killed and reaped, and so are the
/// orphans that killing re-parents here, until none is left.
///
/// Limits: a process that was re-parented elsewhere before this command
/// adopted anything (none can be: the command starts first), or one that
/// escaped with a PID namespace of its own, is out of reach.
enum Descendants {
    /// Becomes a subreaper and arranges for ``killAll()`` at `exit`.
    static func adoptOrphans() {
        _ = fl_become_subreaper()
        atexit { Descendants.killAll() }
    }

    /// Kills and reaps every child, adopted orphans included, until there are
    /// none (at most 64 rounds: each round takes one generation down).
    static func killAll() {
        for _ in 0..<64 {
            let children = currentChildren()
            if children.isEmpty { return }
            for pid in children { kill(pid, SIGKILL) }
            for pid in children { while waitpid(pid, nil, 0) < 0 && errno == EINTR {} }
        }
    }

    /// The pids in `/proc/self/task/*/children` (each thread's children).
    private static func currentChildren() -> [pid_t] {
        guard let tasks = opendir("/proc/self/task") else { return [] }
        defer { closedir(tasks) }
        var pids: [pid_t] = []
        while let entry = readdir(tasks) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
            guard name.first?.isNumber == true else { continue }
            let path = "/proc/self/task/\(name)/children"
            let descriptor = open(path, O_RDONLY | O_CLOEXEC)
            guard descriptor >= 0 else { continue }
            var text: [UInt8] = []
            var buffer = [UInt8](repeating: 0, count: 4096)
            while true {
                let count = buffer.withUnsafeMutableBytes { read(descriptor, $0.baseAddress, $0.count) }
                if count < 0 && errno == EINTR { continue }
                if count <= 0 { break }
                text += buffer[0..<count]
            }
            close(descriptor)
            pids += text.split(separator: UInt8(ascii: " ")).compactMap { pid_t(String(decoding: $0, as: UTF8.self)) }
        }
        return pids
    }
}
