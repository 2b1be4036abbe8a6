/// The failures of a run grouped by bug: one group per crash bucket, one for
/// every call that timed out, one per exit status, one for corrupted records,
/// one per denied system call and top frames (a sandbox's violations).
///
/// ```swift
/// let triage = Triage(try pool.run(inputs))
/// for group in triage.groups {            // largest first
///     print(group.count, group.key, group.outcome)
///     print("first seen at input", group.indices[0])
/// }
/// ```
///
/// Returned calls are counted, never grouped. A signaled group's key is the
/// fault's ``Fault/bucket``; the others are `timeout`, `exit:<status>`,
/// `corrupted` and a violation's ``Violation/bucket`` (`violation:socket:…`).
public struct Triage: Sendable {
    /// The calls of one group.
    public struct Group: Sendable, Hashable {
        /// `fl1-…` (a crash bucket), `timeout`, `exit:<status>` or `corrupted`.
        public var key: String
        /// The outcome of the group's first input.
        public var outcome: Outcome
        /// The indices of the group's inputs, in input order.
        public var indices: [Int]
        /// How many inputs the group holds.
        public var count: Int { indices.count }
    }

    /// How many outcomes were added.
    public private(set) var total = 0
    /// How many of them returned.
    public private(set) var returned = 0
    private var found: [Group] = []
    private var slots: [String: Int] = [:]
    /// The last distinct failures added and their groups, most recent first: a run
    /// repeats a few faults (same frames, same names), whose key is then not made again.
    private var recent: [(outcome: Outcome, slot: Int)] = []
    private static let recentLimit = 8

    /// An empty triage; see ``add(_:index:)``.
    public init() {}

    /// The triage of a batch, index `i` being the batch's `i`-th input.
    public init(_ outcomes: Outcomes) {
        for (index, outcome) in outcomes.enumerated() { add(outcome, index: index) }
    }

    /// Adds the outcome of input `index` (add inputs in order); returns the
    /// key of the group it joined, nil for a return.
    @discardableResult
    public mutating func add(_ outcome: Outcome, index: Int) -> String? {
        total += 1
        if case .returned = outcome {
            returned += 1
            return nil
        }
        if let seen = recent.firstIndex(where: { $0.outcome == outcome }) {
            let slot = recent[seen].slot
            if seen > 0 { recent.insert(recent.remove(at: seen), at: 0) }
            found[slot].indices.append(index)
            return found[slot].key
        }
        guard let key = Self.key(of: outcome) else {
            returned += 1
            return nil
        }
        let slot: Int
        if let known = slots[key] {
            slot = known
            found[slot].indices.append(index)
        } else {
            slot = found.count
            slots[key] = slot
            found.append(Group(key: key, outcome: outcome, indices: [index]))
        }
        recent.insert((outcome, slot), at: 0)
        if recent.count > Self.recentLimit { recent.removeLast() }
        return key
    }

    /// The groups, largest first (ties: the one seen first).
    public var groups: [Group] {
        found.enumerated().sorted { a, b in
            a.element.count != b.element.count ? a.element.count > b.element.count : a.offset < b.offset
        }.map(\.element)
    }

    /// The group with this key, if any input fell in it.
    public func group(forKey key: String) -> Group? {
        slots[key].map { found[$0] }
    }

    /// The group key of an outcome; nil for a return.
    public static func key(of outcome: Outcome) -> String? {
        switch outcome {
        case .returned: nil
        case .signaled(let fault): fault.bucket
        case .exited(let status): "exit:\(status)"
        case .timedOut: "timeout"
        case .corrupted: "corrupted"
        case .violation(let violation): violation.bucket
        }
    }
}
