#if canImport(Glibc)
import Glibc
#endif

/// An `errno` value as a type, like swift-system's `Errno`: the raw number,
/// and the C library's text for it as its description.
public struct Errno: RawRepresentable, Error, Hashable, Sendable, CustomStringConvertible {
    /// The raw `errno` value.
    public var rawValue: Int32

    /// Wraps a raw `errno` value.
    public init(rawValue: Int32) { self.rawValue = rawValue }

    /// Wraps a raw `errno` value.
    public init(_ rawValue: Int32) { self.rawValue = rawValue }

    /// The current thread's `errno`.
    public static var current: Errno { Errno(errno) }

    /// `strerror`'s text, e.g. `No child processes`.
    public var description: String { String(cString: strerror(rawValue)) }

    /// `EPIPE`: the other end is gone.
    public static let brokenPipe = Errno(EPIPE)
    /// `ECHILD`: no child to wait for.
    public static let noChildProcess = Errno(ECHILD)
    /// `ENAMETOOLONG`.
    public static let nameTooLong = Errno(ENAMETOOLONG)
}
