/// Calls the function directly, with no protection at all.
///
/// This is the baseline every other strategy is measured against, and the
/// first finding of the write-up this project answers: a fault in the callee
/// kills the calling process. Use it only for callees you trust.
public struct DirectStrategy: Strategy {
    /// The function to call.
    public let function: NativeFunction

    /// `"direct"`.
    public var name: String { "direct" }

    /// Creates the strategy.
    public init(_ function: NativeFunction) { self.function = function }

    /// Calls the function; a fault ends this process.
    public func call(_ input: Int32) -> Outcome {
        .returned(function.pointer(input))
    }
}
