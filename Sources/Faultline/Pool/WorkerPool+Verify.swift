extension WorkerPool {
    /// Whether an outcome from a long-lived worker is worth running again alone.
    private static func needsReplay(_ outcome: Outcome) -> Bool {
        switch outcome {
        case .signaled, .exited, .corrupted, .violation: true
        case .returned, .timedOut: false
        }
    }

    /// Runs every crashed input again, alone, in a fresh process (a pool of one
    /// worker that serves one call each), and records those outcomes as replays.
    func verify(_ outcomes: inout Outcomes, _ replay: (WorkerPool, [Int]) throws -> Outcomes) throws {
        let crashed = outcomes.indices.filter { Self.needsReplay(outcomes[$0]) }
        if crashed.isEmpty { return }
        if replayPool == nil {
            var fresh = configuration
            fresh.workers = 1
            fresh.recycleAfter = 1
            fresh.verifyCrashes = false
            replayPool = try WorkerPool(library: origin.library, symbol: origin.symbol, imageOffset: origin.imageOffset,
                                        signature: signature == .default ? nil : signature, initializer: origin.initializer,
                                        configuration: fresh)
        }
        let replayed = try replay(replayPool!, crashed)
        for (position, index) in crashed.enumerated() { outcomes.replays[index] = replayed[position] }
    }
}
