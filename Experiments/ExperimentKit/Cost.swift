/// Wall-clock cost of repeated calls: what a caller pays, measured in the process that pays it.
public enum Cost {
    /// Runs `body` `iterations` times (after `warmUp` untimed runs) and returns the mean seconds per run.
    /// The returned values are consumed so that the calls cannot be optimized away.
    public static func perCall(_ iterations: Int, warmUp: Int = 1, _ body: (Int) throws -> Int32) rethrows -> Double {
        var sink: Int32 = 0
        for index in 0..<warmUp { sink &+= try body(index) }
        let start = Clock.now()
        for index in 0..<iterations { sink &+= try body(index) }
        let seconds = Clock.now() - start
        consume(sink)
        return seconds / Double(max(1, iterations))
    }

    @inline(never)
    static func consume(_ value: Int32) {
        withExtendedLifetime(value) {}
    }
}
