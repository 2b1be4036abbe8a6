#if canImport(Glibc)
import Glibc
#endif

/// The machine a report was measured on, read from the kernel and /proc.
public struct Environment: Sendable {
    /// `Linux 6.1.0-… x86_64`.
    public var kernel: String
    /// The CPU model name.
    public var cpu: String
    /// Online processors.
    public var cores: Int
    /// Total memory in bytes.
    public var memoryBytes: Double

    /// Reads the current machine.
    public static func current() -> Environment {
        var name = utsname()
        uname(&name)
        func field<T>(_ value: T) -> String {
            withUnsafeBytes(of: value) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
        }
        let kernel = "\(field(name.sysname)) \(field(name.release)) \(field(name.machine))"
        let cpuinfo = Files.read("/proc/cpuinfo") ?? ""
        let model = cpuinfo.split(separator: "\n").first { $0.hasPrefix("model name") }
            .flatMap { $0.split(separator: ":", maxSplits: 1).last }
            .map { $0.trimmingCharacters(in: .whitespaces) } ?? "unknown"
        let meminfo = Files.read("/proc/meminfo") ?? ""
        let kib = meminfo.split(separator: "\n").first { $0.hasPrefix("MemTotal:") }
            .flatMap { $0.split(separator: " ", omittingEmptySubsequences: true).dropFirst().first }
            .flatMap { Double($0) } ?? 0
        return Environment(kernel: kernel, cpu: model, cores: Int(sysconf(Int32(_SC_NPROCESSORS_ONLN))), memoryBytes: kib * 1024)
    }
}

import Foundation
