/// A way of calling a native function that may crash.
///
/// Every strategy answers each input with an ``Outcome``; they differ in what
/// they cost, what they can survive, and what they leave behind:
///
/// | strategy | survives | cost per call | process afterwards |
/// |---|---|---|---|
/// | ``DirectStrategy`` | nothing | a C call | dead on the first fault |
/// | ``GuardStrategy`` | faults on the calling thread | a few ns | possibly corrupt (see its docs) |
/// | ``ForkStrategy`` | everything | a fork | untouched |
/// | ``PoolStrategy`` | everything | a message to a worker | untouched |
public protocol Strategy: Sendable {
    /// The short name used on the command line and in reports: `direct`, `guard`, `fork`, `pool`.
    var name: String { get }

    /// Calls the function with one input and reports what happened.
    /// Throws only when the strategy itself cannot work (no fork, no pipe…);
    /// a crash of the callee is an outcome, not an error.
    func call(_ input: Int32) throws -> Outcome

    /// Calls the function once per input; outcomes come back in input order.
    func call(_ inputs: [Int32]) throws -> Outcomes
}

extension Strategy {
    /// Calls one input after the other.
    public func call(_ inputs: [Int32]) throws -> Outcomes {
        Outcomes(try inputs.map { try call($0) })
    }
}

/// A failure of the machinery (not of the callee): a system call that failed.
public struct SystemError: Error, Hashable, Sendable, CustomStringConvertible {
    /// The operation that failed, e.g. `"fork"`.
    public var operation: String
    /// The errno value.
    public var errno: Int32

    /// Creates the error.
    public init(_ operation: String, errno: Int32) {
        self.operation = operation
        self.errno = errno
    }

    /// `fork: Resource temporarily unavailable (errno 11)`.
    public var description: String {
        "\(operation): \(String(cString: strerror(errno))) (errno \(errno))"
    }
}

#if canImport(Glibc)
import Glibc
#endif
