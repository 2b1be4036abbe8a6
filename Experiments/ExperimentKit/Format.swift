#if canImport(Glibc)
import Glibc
#endif

/// Number formatting shared by summaries and the report.
public enum Format {
    /// A duration with a readable unit: `12 ns`, `3.4 µs`, `0.52 ms`, `1.00 s`.
    public static func seconds(_ value: Double) -> String {
        guard value.isFinite else { return "∞" }
        let magnitude = abs(value)
        if magnitude == 0 { return "0 s" }
        if magnitude < 1e-6 { return fixed(value * 1e9, digits: magnitude < 1e-8 ? 1 : 0) + " ns" }
        if magnitude < 1e-3 { return fixed(value * 1e6, digits: magnitude < 1e-5 ? 2 : 1) + " µs" }
        if magnitude < 1 { return fixed(value * 1e3, digits: magnitude < 1e-2 ? 2 : 1) + " ms" }
        return fixed(value, digits: 2) + " s"
    }

    /// `value` with exactly `digits` decimals.
    public static func fixed(_ value: Double, digits: Int) -> String {
        guard value.isFinite else { return value.isNaN ? "n/a" : "∞" }
        var buffer = [CChar](repeating: 0, count: 64)
        let count = withVaList([Int32(digits), value]) { vsnprintf(&buffer, buffer.count, "%.*f", $0) }
        return String(decoding: buffer.prefix(Int(max(0, min(count, 63)))).map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    /// A byte count: `512 KiB`, `48.0 MiB`.
    public static func bytes(_ value: Double) -> String {
        let magnitude = abs(value)
        if magnitude >= 1_073_741_824 { return fixed(value / 1_073_741_824, digits: 1) + " GiB" }
        if magnitude >= 1_048_576 { return fixed(value / 1_048_576, digits: 1) + " MiB" }
        if magnitude >= 1024 { return fixed(value / 1024, digits: 0) + " KiB" }
        return fixed(value, digits: 0) + " B"
    }

    /// A percentage with no decimals.
    public static func percent(_ value: Double) -> String { fixed(value, digits: 0) + " %" }

    /// The figure in the unit of a ``Measurement``.
    public static func measurement(_ value: Double, unit: String) -> String {
        switch unit {
        case "s": seconds(value)
        case "bytes": bytes(value)
        case "%": percent(value)
        case "count": value == value.rounded() && abs(value) < 1e15 ? String(Int64(value)) : fixed(value, digits: 1)
        default: fixed(value, digits: 2) + " " + unit
        }
    }

    /// `yes`, `no`, or `—` when it does not apply.
    public static func yesNo(_ value: Bool?) -> String {
        switch value {
        case true?: "yes"
        case false?: "no"
        case nil: "—"
        }
    }
}

/// Monotonic time.
public enum Clock {
    /// Seconds on the monotonic clock.
    public static func now() -> Double {
        var time = timespec()
        clock_gettime(CLOCK_MONOTONIC, &time)
        return Double(time.tv_sec) + Double(time.tv_nsec) / 1e9
    }

    /// Runs `body` and returns its wall time in seconds.
    public static func time(_ body: () throws -> Void) rethrows -> Double {
        let start = now()
        try body()
        return now() - start
    }

    /// Sleeps this thread.
    public static func sleep(_ seconds: Double) {
        guard seconds > 0 else { return }
        var request = timespec(tv_sec: Int(seconds), tv_nsec: Int((seconds - Double(Int(seconds))) * 1e9))
        var remaining = timespec()
        while nanosleep(&request, &remaining) != 0 && errno == EINTR { request = remaining }
    }
}
