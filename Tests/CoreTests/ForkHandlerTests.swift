import Faultline
import FaultlineTestSupport
import XCTest

/// The helper forks workers without glibc's fork handlers only when nothing
/// loaded can have registered one (helper_fork.c): a library's own
/// pthread_atfork handlers still run in every worker it is called in.
final class ForkHandlerTests: XCTestCase {
    /// Counts, in each process, the forks that made it (the child handler) and
    /// the forks it made (the parent handler).
    static let source = """
    #include <pthread.h>
    static int made_by_fork, forks_made;
    static void in_child(void) { made_by_fork++; forks_made = 0; }
    static void in_parent(void) { forks_made++; }
    __attribute__((constructor)) static void setup(void) { pthread_atfork(NULL, in_parent, in_child); }
    int made(int unused) { (void)unused; return made_by_fork; }
    """

    func testALibrarysForkHandlersRunInEveryWorker() throws {
        let library = try CompiledCode.library("forkhandlers", Self.source, flags: ["-O1"])
        for configuration in [WorkerPool.Configuration(workers: 2), WorkerPool.Configuration(workers: 1, recycleAfter: 1)] {
            let pool = try WorkerPool(library: library, symbol: "made", configuration: configuration)
            defer { pool.shutdown() }
            // Every call, in whichever worker, sees the one fork that made its worker.
            let outcomes = try pool.run([Int32](repeating: 0, count: 40))
            XCTAssertEqual(outcomes.map(\.returnedValue), [Int32?](repeating: 1, count: 40), "\(configuration)")
        }
    }

    func testWorkersOfALibraryWithoutForkHandlersStillCrashAndReturnExactly() throws {
        let library = try CompiledCode.library("nohandlers", """
        int crash_on_odd(int n) { if (n & 1) { volatile int *p = 0; *p = n; } return n * 2; }
        """, flags: ["-O1"])
        let pool = try WorkerPool(library: library, symbol: "crash_on_odd", configuration: .init(workers: 2))
        defer { pool.shutdown() }
        let outcomes = try pool.run(Array(Int32(0)..<200))
        for (input, outcome) in zip(0..<200, outcomes) {
            if input & 1 == 1 { XCTAssertEqual(outcome.fault?.signal, .segmentationFault, "\(input)") }
            else { XCTAssertEqual(outcome.returnedValue, Int32(input * 2), "\(input)") }
        }
    }
}
