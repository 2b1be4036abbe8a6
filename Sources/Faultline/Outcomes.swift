/// The outcomes of a batch of calls, in input order: what every batch call
/// of every strategy returns (`Strategy.call(_:)` with an array,
/// `WorkerPool.run`).
///
/// A `RandomAccessCollection` of ``Outcome``. For `int f(int)` it is stored
/// compactly — one `Int32` per call that returned and a full ``Outcome`` only
/// for the calls that did not — so building it costs no allocation per call,
/// which matters when a call itself costs nanoseconds.
///
/// ```swift
/// let outcomes = try GuardStrategy(function).call([1, 2, 3] as [Int32])
/// for (input, outcome) in zip([1, 2, 3], outcomes) { print(input, outcome) }
/// print(outcomes.failures.count, "calls did not return")
/// ```
public struct Outcomes: RandomAccessCollection, Sendable, Equatable {
    private enum Storage: Sendable {
        /// int32 results: a value per call, and the calls that did not return.
        case compact(values: [Int32], failures: [Int: Outcome])
        /// Any other results: one outcome per call.
        case full([Outcome])
        /// Result records of a signature (`resultSize` bytes each), decoded when read, and the calls that did not return.
        case records(results: [UInt8], resultSize: Int, prepared: PreparedSignature, failures: [Int: Outcome])
    }

    private var storage: Storage

    /// With crash verification (``WorkerPool/Configuration/verifyCrashes``):
    /// for each input whose outcome in a long-lived worker was `signaled`,
    /// `exited` or `corrupted`, the outcome of running it again alone in a
    /// fresh process. A crash that does not happen again alone came from
    /// state an earlier call left behind.
    public internal(set) var replays: [Int: Outcome] = [:]

    /// Wraps returned `Int32` values and the outcomes of the calls that did
    /// not return, by input position (`values[i]` is ignored where
    /// `failures[i]` exists).
    public init(values: [Int32], failures: [Int: Outcome]) {
        storage = .compact(values: values, failures: failures)
    }

    /// Wraps one outcome per call.
    public init(_ outcomes: [Outcome]) {
        storage = .full(outcomes)
    }

    /// The outcomes of int32 calls from the values they returned and their
    /// failures in input order: a dictionary of failures while they are few,
    /// one outcome per input once they are a quarter or more (a crash loop
    /// then costs no hashing per outcome).
    init(values: [Int32], failed: [(Int, Outcome)]) {
        if failed.count * 4 < values.count {
            storage = .compact(values: values, failures: Dictionary(uniqueKeysWithValues: failed))
            return
        }
        var outcomes: [Outcome] = []
        outcomes.reserveCapacity(values.count)
        var next = failed.startIndex
        for (index, value) in values.enumerated() {
            if next < failed.endIndex && failed[next].0 == index {
                outcomes.append(failed[next].1)
                next += 1
            } else {
                outcomes.append(.returned(value))
            }
        }
        storage = .full(outcomes)
    }

    /// Wraps result records, decoded with `prepared` when read.
    init(results: [UInt8], resultSize: Int, prepared: PreparedSignature, failures: [Int: Outcome]) {
        storage = .records(results: results, resultSize: resultSize, prepared: prepared, failures: failures)
    }

    /// The outcomes of the calls that did not return, by input position.
    public var failures: [Int: Outcome] {
        switch storage {
        case .compact(_, let failures), .records(_, _, _, let failures): failures
        case .full(let outcomes):
            Dictionary(uniqueKeysWithValues: outcomes.indices.lazy.filter { outcomes[$0].value == nil }.map { ($0, outcomes[$0]) })
        }
    }

    /// 0.
    public var startIndex: Int { 0 }
    /// The number of calls.
    public var endIndex: Int {
        switch storage {
        case .compact(let values, _): values.count
        case .full(let outcomes): outcomes.count
        case .records(let results, let resultSize, _, _): resultSize == 0 ? 0 : results.count / resultSize
        }
    }

    /// The outcome of call `position`.
    public subscript(position: Int) -> Outcome {
        switch storage {
        case .compact(let values, let failures): failures[position] ?? .returned(values[position])
        case .full(let outcomes): outcomes[position]
        case .records(let results, let resultSize, let prepared, let failures):
            failures[position] ?? results.withUnsafeBufferPointer { prepared.decode($0.baseAddress! + position * resultSize) }
        }
    }

    /// Equal when every outcome (and every replay) is equal, whatever the storage.
    public static func == (lhs: Outcomes, rhs: Outcomes) -> Bool {
        lhs.count == rhs.count && zip(lhs, rhs).allSatisfy { $0 == $1 } && lhs.replays == rhs.replays
    }
}

extension Outcomes: ExpressibleByArrayLiteral {
    /// Outcomes written out, for tests and examples: `[.returned(1), .exited(status: 0)]`.
    public init(arrayLiteral elements: Outcome...) { self.init(elements) }
}
