#if canImport(Glibc)
import Glibc
#endif
import CFaultline

/// A native `int init(void)` that prepares the process before calls: it
/// returns 0 for success, anything else for failure.
///
/// ``ForkStrategy`` runs it once in each forked process, before the call;
/// ``GuardStrategy`` runs it once in this process (under the guard), before
/// the first call of any strategy that names it. When it fails (returns
/// non-zero, crashes, exits, or outlives the deadline), no call is made: the
/// strategy throws ``InitFailure`` instead of an outcome, because an outcome
/// would describe an input that never ran.
///
/// ```swift
/// let setup = try Initializer(library: path, symbol: "setup")
/// let outcome = try ForkStrategy(parse, timeout: .seconds(5), initializer: setup).call(4)
/// ```
public struct Initializer: @unchecked Sendable, CustomStringConvertible {
    /// The C shape of an initializer.
    public typealias Pointer = @convention(c) () -> Int32

    /// The function's address.
    public let address: UnsafeRawPointer
    /// How errors name it: the symbol, or the name given, or its address.
    public let name: String

    /// Wraps a function pointer you already have; `name` is used in errors.
    public init(_ pointer: Pointer, name: String? = nil) {
        self.init(unsafeBitCast(pointer, to: UnsafeRawPointer.self), name: name)
    }

    /// Wraps the address of an `int init(void)`; `name` is used in errors.
    public init(_ address: UnsafeRawPointer, name: String? = nil) {
        self.address = address
        self.name = name ?? Symbolizer.frame(for: UInt64(UInt(bitPattern: address))).description
    }

    /// Loads `symbol` from the shared library at `library` (as ``NativeFunction``
    /// does: `dlopen(RTLD_NOW | RTLD_LOCAL)`, which runs the library's constructors here).
    public init(library: String, symbol: String) throws(LoadError) {
        let function = try NativeFunction(library: library, symbol: symbol, signature: Signature(returning: .int32, []))
        self.init(function.address, name: symbol)
    }

    /// The name.
    public var description: String { name }

    /// The C pointer to pass to `fl_fork_invoke`.
    var cFunction: fl_init_function { unsafeBitCast(address, to: fl_init_function.self) }
}

/// An ``Initializer`` failed, so the call never ran: not an outcome of the
/// input, but a reason why there is none.
///
/// `init 'setup' returned 7`, `init 'setup' crashed: SIGSEGV at 0x0`.
public struct InitFailure: Error, Hashable, Sendable, CustomStringConvertible {
    /// How the initializer failed.
    public enum Reason: Hashable, Sendable {
        /// It returned this non-zero value.
        case returned(Int32)
        /// A signal ended it; the fault address when the kernel raised the signal for a fault.
        case signaled(Signal, address: UInt64?)
        /// It ended its process with `exit(status)` (fork only).
        case exited(status: Int32)
        /// The deadline passed while it ran (fork only); it was killed after this long.
        case timedOut(Duration)
    }

    /// The initializer's name (``Initializer/name``).
    public var initializer: String
    /// How it failed.
    public var reason: Reason

    /// Creates the error.
    public init(initializer: String, reason: Reason) {
        self.initializer = initializer
        self.reason = reason
    }

    /// One line: `init 'setup' returned 7`, `init 'setup' crashed: SIGSEGV at 0x0`,
    /// `init 'setup' exited with status 3`, `init 'setup' timed out after 1.0 s`.
    public var description: String {
        let subject = "init '\(initializer)'"
        switch reason {
        case .returned(let value): return "\(subject) returned \(value)"
        case .signaled(let signal, let address):
            return "\(subject) crashed: \(signal.name)" + (address.map { " at 0x\(String($0, radix: 16))" } ?? "")
        case .exited(let status): return "\(subject) exited with status \(status)"
        case .timedOut(let after): return "\(subject) timed out after \(after.seconds) s"
        }
    }
}

/// The initializers that ran in this process (under the guard), by address:
/// each runs once, and its failure is remembered and thrown again.
final class InitializerRuns: @unchecked Sendable {
    static let shared = InitializerRuns()

    private let mutex: UnsafeMutablePointer<pthread_mutex_t>
    /// nil: it succeeded; a failure: it failed (and is not run again).
    private var results: [UInt: InitFailure?] = [:]
    /// `int32()`, prepared once for libffi.
    private let signature = PreparedSignature(Signature(returning: .int32, []))

    private init() {
        mutex = .allocate(capacity: 1)
        pthread_mutex_init(mutex, nil)
    }

    /// Runs `initializer` under the guard unless it already ran in this
    /// process; throws its failure (every time) when it failed. Other threads
    /// wait until it has run.
    func runOnce(_ initializer: Initializer, captureBacktrace: Bool) throws {
        pthread_mutex_lock(mutex)
        defer { pthread_mutex_unlock(mutex) }
        let key = UInt(bitPattern: initializer.address)
        if let known = results[key] {
            if let failure = known { throw failure }
            return
        }
        let failure = try run(initializer, captureBacktrace: captureBacktrace)
        results[key] = .some(failure)
        if let failure { throw failure }
    }

    private func run(_ initializer: Initializer, captureBacktrace: Bool) throws -> InitFailure? {
        let options: Int32 = captureBacktrace ? Int32(FL_CAPTURE_BACKTRACE) : 0
        let callee = UnsafeMutableRawPointer(mutating: initializer.address)
        return try signature.withRecords([]) { record, size, result in
            var report = fl_report()
            let status = fl_guard_invoke(signature.pointer, callee, record, size, result, options, &report)
            if status < 0 { throw SystemError("guard", errno: -status) }
            if report.kind == Int32(FL_KIND_RETURNED.rawValue) {
                let value = UnsafeRawPointer(result).loadUnaligned(as: Int32.self)
                return value == 0 ? nil : InitFailure(initializer: initializer.name, reason: .returned(value))
            }
            let detailed = report.flags & UInt32(FL_REPORT_DETAILED) != 0
            return InitFailure(initializer: initializer.name,
                               reason: .signaled(Signal(report.signo), address: detailed && report.code > 0 ? report.address : nil))
        }
    }
}
