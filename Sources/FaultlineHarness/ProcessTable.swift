#if canImport(Glibc)
import Glibc
#endif
import CFaultline
import Faultline

/// Read-only views of /proc: which processes exist, who their parents are,
/// how much CPU and memory they use. Used to prove that nothing was left behind.
public enum ProcessTable {
    /// One line of /proc/PID/stat, the parts Faultline uses.
    public struct Entry: Hashable, Sendable {
        /// Process id.
        public var pid: pid_t
        /// Parent process id.
        public var parent: pid_t
        /// Process group id.
        public var group: pid_t
        /// One-letter state (R running, S sleeping, Z zombie…).
        public var state: Character
        /// User plus system CPU time, in clock ticks.
        public var cpuTicks: Int
        /// The command name.
        public var name: String
    }

    /// Reads /proc/PID/stat, or nil when the process does not exist.
    public static func entry(_ pid: pid_t) -> Entry? {
        guard let text = try? HarnessFile.read("/proc/\(pid)/stat"),
              let open = text.firstIndex(of: "("), let close = text.lastIndex(of: ")") else { return nil }
        let name = String(text[text.index(after: open)..<close])
        let fields = text[text.index(close, offsetBy: 2)...].split(separator: " ")
        guard fields.count > 13, let state = fields[0].first, let parent = pid_t(fields[1]), let group = pid_t(fields[2]),
              let user = Int(fields[11]), let system = Int(fields[12]) else { return nil }
        return Entry(pid: pid, parent: parent, group: group, state: state, cpuTicks: user + system, name: name)
    }

    /// Every process visible in /proc.
    public static func all() -> [Entry] {
        guard let directory = opendir("/proc") else { return [] }
        defer { closedir(directory) }
        var result: [Entry] = []
        while let item = readdir(directory) {
            let name = withUnsafeBytes(of: item.pointee.d_name) { String(decoding: $0.prefix(while: { $0 != 0 }), as: UTF8.self) }
            if let pid = pid_t(name), let entry = entry(pid) { result.append(entry) }
        }
        return result
    }

    /// The live (non-zombie) descendants of `pid`, children first.
    public static func descendants(of pid: pid_t) -> [Entry] {
        let table = all()
        var result: [Entry] = []
        var frontier: Set<pid_t> = [pid]
        while !frontier.isEmpty {
            let next = table.filter { frontier.contains($0.parent) }
            result += next
            frontier = Set(next.map(\.pid))
        }
        return result.filter { $0.state != "Z" }
    }

    /// Live processes in process group `group`.
    public static func members(ofGroup group: pid_t) -> [Entry] {
        all().filter { $0.group == group && $0.state != "Z" }
    }

    /// Resident set size of a process in bytes (VmRSS), or nil.
    public static func residentBytes(_ pid: pid_t = getpid()) -> Int? { statusKiB("VmRSS:", pid).map { $0 * 1024 } }

    /// Peak resident set size (VmHWM) in bytes, or nil.
    public static func peakResidentBytes(_ pid: pid_t = getpid()) -> Int? { statusKiB("VmHWM:", pid).map { $0 * 1024 } }

    /// One file mapping of a process: a line of /proc/PID/maps with a path.
    public struct Mapping: Hashable, Sendable {
        /// The mapped file's path (memfds read `/memfd:NAME (deleted)`).
        public var path: String
        /// The file's inode.
        public var inode: UInt64
    }

    /// The file mappings of a process, in address order (one per maps line); nil if unreadable.
    public static func mappings(_ pid: pid_t) -> [Mapping]? {
        guard let text = try? HarnessFile.read("/proc/\(pid)/maps") else { return nil }
        return text.split(separator: "\n").compactMap { line -> Mapping? in
            let fields = line.split(separator: " ", maxSplits: 5, omittingEmptySubsequences: true)
            guard fields.count == 6, let inode = UInt64(fields[4]), let slash = fields[5].firstIndex(of: "/") else { return nil }
            return Mapping(path: String(fields[5][slash...]), inode: inode)
        }
    }

    /// A "kB" line of /proc/PID/status, e.g. `VmRSS:`.
    private static func statusKiB(_ field: String, _ pid: pid_t) -> Int? {
        guard let text = try? HarnessFile.read("/proc/\(pid)/status") else { return nil }
        for line in text.split(separator: "\n") where line.hasPrefix(field) {
            let parts = line.split(separator: " ", omittingEmptySubsequences: true)
            if parts.count >= 2, let kib = Int(parts[1]) { return kib }
        }
        return nil
    }

    /// How many descriptors this process has open.
    public static func openDescriptorCount() -> Int {
        guard let directory = opendir("/proc/self/fd") else { return -1 }
        defer { closedir(directory) }
        var count = 0
        while readdir(directory) != nil { count += 1 }
        return count - 3 // ".", ".." and the directory's own descriptor
    }

    /// Makes this process adopt orphaned descendants, so that what a child leaves behind stays visible.
    public static func becomeSubreaper() { _ = fl_become_subreaper() }
}
