/// Source-level naming of crash frames (`SourceSymbolizer`, over libdwfl) in a
/// library with DWARF compiled by the bench: the figures behind the target
/// `symbolize_frame_cost`. A figure is nil when it could not be measured;
/// `note` says why.
public struct SymbolizeFigures: Codable, Sendable {
    /// Mean ns per distinct (build-id, offset) resolved cold: every cache cleared
    /// before each round, the image's opening included (spread over the round).
    /// The median over the rounds.
    public var coldLookupNs: Double?
    /// The first look-up of a round alone (opening the image, reading its DWARF), median, ns.
    public var firstLookupNs: Double?
    /// Mean ns per look-up of the same offsets again (answered by the cache).
    public var warmLookupNs: Double?
    /// Distinct offsets resolved per round.
    public var offsets: Int = 0
    /// How many of them got both a name and a source line.
    public var namedWithLine: Int = 0
    /// Rounds measured.
    public var rounds: Int = 0
    /// Why a figure is missing.
    public var note: String?

    /// Nothing measured yet.
    public init() {}

    private enum CodingKeys: String, CodingKey {
        case coldLookupNs = "cold_lookup_ns", firstLookupNs = "first_lookup_ns", warmLookupNs = "warm_lookup_ns"
        case offsets, namedWithLine = "named_with_line", rounds, note
    }
}
