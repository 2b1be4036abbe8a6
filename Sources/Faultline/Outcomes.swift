/// The outcomes of a batch of calls, stored compactly: one `Int32` per call
/// that returned, and a full ``Outcome`` only for the calls that did not.
///
/// A `RandomAccessCollection` of ``Outcome`` in input order; building it costs
/// no allocation per call, which matters when a call itself costs nanoseconds.
public struct Outcomes: RandomAccessCollection, Sendable, Equatable {
    /// The value each call returned (meaningless where `failures` has an entry).
    public private(set) var values: [Int32]
    /// The outcomes of the calls that did not return, by input position.
    public private(set) var failures: [Int: Outcome]

    /// Wraps returned values and the outcomes of the calls that did not return.
    public init(values: [Int32], failures: [Int: Outcome]) {
        self.values = values
        self.failures = failures
    }

    /// 0.
    public var startIndex: Int { 0 }
    /// The number of calls.
    public var endIndex: Int { values.count }

    /// The outcome of call `position`.
    public subscript(position: Int) -> Outcome {
        failures[position] ?? .returned(values[position])
    }
}
