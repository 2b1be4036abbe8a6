#if canImport(Glibc)
import Glibc
#endif
import CFaultline
import CFaultlineSeccomp

/// A system call a pool in learning mode (``Sandbox/learning``) saw its workers make.
public struct LearnedSyscall: Hashable, Sendable {
    public var name: String
    public var number: Int
    /// Times it was made (by Faultline's own worker loop too, between calls).
    public var count: Int
    /// The first input (its index in the run) during whose call it was made; nil: only between calls.
    public var firstInput: Int?

    /// A policy file (`--sandbox-policy`'s format) allowing every call made during a call:
    /// one name per line; a guard (which no rule may allow) only as a comment.
    public static func policy(_ learned: [LearnedSyscall]) -> String {
        var text = "# learned by faultline --sandbox-learn: the system calls the callee made\n"
        for call in learned where call.firstInput != nil {
            let note = "  # \(call.count) times, first at input \(call.firstInput!)"
            if fl_seccomp_is_guarded(call.name) != 0 {
                text += "# \(call.name)\(note) (decided by the sandbox, not by a rule)\n"
            } else {
                text += "\(call.name)\(note)\n"
            }
        }
        return text
    }
}

extension WorkerPool {
    /// Learning mode: the system calls the workers made so far, by number; nil when the pool is not learning.
    public var learnedSyscalls: [LearnedSyscall]? {
        var record = [fl_learned_syscall](repeating: fl_learned_syscall(), count: Int(FL_SANDBOX_LEARN_SYSCALLS))
        guard fl_pool_learned(pool, &record) != 0 else { return nil }
        let arch = fl_seccomp_native_arch()
        return record.enumerated().compactMap { number, entry in
            guard entry.count > 0 else { return nil }
            let cName = fl_seccomp_name(arch, Int32(number))
            defer { free(cName) }
            let name = cName.map { String(cString: $0) } ?? "syscall_\(number)"
            return LearnedSyscall(name: name, number: number, count: Int(entry.count),
                                  firstInput: entry.first_input >= 0 ? Int(entry.first_input) : nil)
        }
    }
}
