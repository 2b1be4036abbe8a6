#if canImport(Glibc)
import Glibc
#endif
import FaultlineHarness

extension Victims {
    /// Throws a one-line error when the library is missing, before any child is started.
    public static func check() throws {
        guard access(library, R_OK) == 0 else {
            throw UsageError("victims library not found at \(library) (build it, or set FAULTLINE_VICTIMS)")
        }
    }
}
