import Faultline
import FaultlineHarness
import FaultlineTestSupport
import Foundation
import XCTest

/// Crash reports against libraries compiled here (C and C++, -O0 and -O2, with
/// and without DWARF, stripped): every strategy cuts the frames at the call,
/// names them, and gives one bug one bucket — across inputs, strategies and
/// worker counts — and two bugs two buckets.
final class CrashReportTests: XCTestCase {
    /// Five bugs behind one entry point; `input % 10` picks the bug, so that
    /// inputs 1, 11, 21 … hit the same one at other addresses.
    static let source = """
    #include <stdlib.h>
    __attribute__((noinline)) static int read_field(const int *record) {
        return record[4]; /* MARK_NULL_READ */
    }
    __attribute__((noinline)) static void store_wild(int n) {
        *(volatile int *)(0x7fff00000000ull + (unsigned long)n * 4096) = n;
    }
    __attribute__((noinline)) static int descend(int n) {
        volatile char pad[64];
        pad[0] = (char)n;
        return descend(n + 1) + pad[0];
    }
    __attribute__((noinline)) static int release_twice(int n) {
        char *volatile p = malloc(16 + n % 8);
        free(p);
        free(p);
        return n;
    }
    __attribute__((noinline)) static int divide(int n) {
        volatile int zero = 0;
        return n / zero;
    }
    int bug(int input) {
        switch (input % 10) {
        case 1: return read_field(NULL);
        case 2: store_wild(input); return 0;
        case 3: return descend(input);
        case 4: return release_twice(input);
        case 5: return divide(input);
        default: return input;
        }
    }
    """

    /// The same bugs in C++, one inside an anonymous namespace, plus an uncaught exception.
    static let cxxSource = """
    #include <stdexcept>
    namespace {
    __attribute__((noinline)) int read_field(const int *record) { return record[4]; }
    __attribute__((noinline)) void fail(int n) { throw std::runtime_error("bad record " + std::to_string(n)); }
    }
    namespace parser {
    __attribute__((noinline)) int parse(int input) {
        switch (input % 10) {
        case 1: return read_field(nullptr);
        case 6: fail(input); return 0;
        default: return input;
        }
    }
    }
    extern "C" int bug(int input) { return parser::parse(input); }
    """

    static let inputs: [Int32] = [1, 11, 21, 2, 12, 3, 13, 4, 14, 5, 15, 0]

    /// The buckets of every input by strategy, for one build of the library.
    private func buckets(_ library: String, inputs: [Int32] = inputs) throws -> [String: [Outcome]] {
        var result: [String: [Outcome]] = [:]
        for workers in [1, 2] {
            let pool = try WorkerPool(library: library, symbol: "bug", configuration: .init(workers: workers))
            result["pool\(workers)"] = Array(try pool.run(inputs))
        }
        let function = try NativeFunction(library: library, symbol: "bug")
        result["fork"] = try inputs.map { try ForkStrategy(function, timeout: .seconds(30)).call($0) }
        let server = try ForkServerStrategy(library: library, symbol: "bug", timeout: .seconds(30))
        result["forkserver"] = try inputs.map { try server.call($0) }
        // The guard in a process of its own: a double free leaves its heap unusable.
        let (run, status) = try ChildProcess.run(Fixtures.faultline, ["call", library, "bug", "--strategy", "guard", "--"] + inputs.map(String.init), timeout: 60)
        XCTAssertEqual(status, .exitCode(0), run.standardError)
        result["guard"] = try run.standardOutput.split(separator: "\n").map { try JSONDecoder().decode(Outcome.self, from: Data($0.utf8)) }
        return result
    }

    /// Checks one build's outcomes: `library` is its file name; with `entryNamed`, every
    /// backtrace ends at `bug` (no tail call at -O0).
    private func check(_ outcomes: [String: [Outcome]], library: String, entryNamed: Bool,
                       file: StaticString = #filePath, line: UInt = #line) {
        let reference = outcomes["fork"]!
        for (index, input) in Self.inputs.enumerated() {
            let keys = Set(outcomes.values.map { Triage.key(of: $0[index]) ?? "returned" })
            XCTAssertEqual(keys.count, 1, "input \(input): \(outcomes.mapValues { $0[index] })", file: file, line: line)
        }
        // One key per bug (input % 10), never split, never shared.
        var byBug: [Int32: Set<String>] = [:]
        for (input, outcome) in zip(Self.inputs, reference) { byBug[input % 10, default: []].insert(Triage.key(of: outcome) ?? "returned") }
        XCTAssertTrue(byBug.values.allSatisfy { $0.count == 1 }, "\(byBug)", file: file, line: line)
        XCTAssertEqual(Set(byBug.values.map { $0.first! }).count, byBug.count, "\(byBug)", file: file, line: line)
        for (strategy, list) in outcomes {
            for outcome in list {
                guard let fault = outcome.fault else { continue }
                XCTAssertTrue(fault.bucket.hasPrefix("fl1-") && fault.bucket.count == 20, fault.bucket, file: file, line: line)
                // Nothing of Faultline's, of the caller's or of libc's start-up.
                for frame in fault.backtrace {
                    let image = frame.imageName ?? ""
                    XCTAssertFalse(image.hasPrefix("faultline") || image.hasSuffix(".xctest") || image.hasPrefix("libffi"),
                                   "\(strategy): \(frame) in \(fault.backtrace)", file: file, line: line)
                    XCTAssertNotEqual(frame.symbol, "__libc_start_main", file: file, line: line)
                }
                if fault.isStackOverflow { continue }
                XCTAssertTrue(fault.cutAtCall, "\(strategy): \(fault.backtrace)", file: file, line: line)
                // The last frame is the library's (its entry, or a function it tail-called).
                XCTAssertEqual(fault.backtrace.last?.imageName, library, "\(strategy): \(fault.backtrace)", file: file, line: line)
                if entryNamed { XCTAssertEqual(fault.backtrace.last?.symbol, "bug", "\(strategy): \(fault.backtrace)", file: file, line: line) }
            }
        }
    }

    func testCBuildsGiveOneBucketPerBugInEveryStrategy() throws {
        let lineOfNullRead = CompiledCode.line(of: "MARK_NULL_READ", in: Self.source)
        for (name, flags) in [("o0g", ["-O0", "-g"]), ("o2g", ["-O2", "-g"]), ("o2", ["-O2"])] {
            let library = try CompiledCode.library("bugs_\(name)", Self.source, flags: flags + ["-fno-omit-frame-pointer"])
            let outcomes = try buckets(library)
            check(outcomes, library: "libbugs_\(name).so", entryNamed: flags.contains("-O0"))
            let nullRead = try XCTUnwrap(outcomes["pool2"]?[0].fault)
            // A static function is named (with the clone suffix -O2 may give it: .constprop.0).
            XCTAssertEqual(nullRead.backtrace.first?.symbol.map(SourceSymbolizer.baseName), "read_field", "\(name)")
            XCTAssertEqual(nullRead.access, .read)
            XCTAssertEqual(nullRead.address, 16)
            XCTAssertEqual(nullRead.severity.crashClass, "SourceAvNearNull")
            if flags.contains("-g") {
                XCTAssertEqual(nullRead.backtrace.first?.line, lineOfNullRead, "\(name): \(nullRead.backtrace)")
                XCTAssertEqual(nullRead.backtrace.first?.file.map { ($0 as NSString).lastPathComponent }, "bugs_\(name).c")
                XCTAssertTrue(nullRead.backtrace.first?.description.contains(" (bugs_\(name).c:") ?? false)
            } else {
                XCTAssertNil(nullRead.backtrace.first?.line)
            }
            let wild = try XCTUnwrap(outcomes["fork"]?[3].fault)
            XCTAssertEqual(wild.access, .write)
            XCTAssertEqual(wild.severity.crashClass, "DestAv")
            XCTAssertEqual(try XCTUnwrap(outcomes["pool1"]?[5].fault).severity.crashClass, "StackOverflow")
            let doubleFree = try XCTUnwrap(outcomes["forkserver"]?[7].fault)
            XCTAssertEqual(doubleFree.message, "free(): double free detected in tcache 2")
            XCTAssertNil(doubleFree.address)
            XCTAssertEqual(doubleFree.severity.crashClass, "HeapError")
            XCTAssertEqual(Bucket.significantFrames(of: doubleFree).first, "release_twice", "libc's abort frames are not the bug")
            XCTAssertEqual(try XCTUnwrap(outcomes["guard"]?[9].fault).severity.crashClass, "FPE")
        }
    }

    func testAStrippedBuildKeepsItsBucketsAndNamesNothingWrongly() throws {
        let built = try CompiledCode.library("bugs_strip", Self.source, flags: ["-O2", "-g", "-fno-omit-frame-pointer"])
        let stripped = try CompiledCode.copy(built, to: "libbugs_stripped.so")
        try CompiledCode.run("/usr/bin/strip", ["--strip-all", stripped])
        let outcomes = try buckets(stripped)
        check(outcomes, library: "libbugs_stripped.so", entryNamed: false)
        let nullRead = try XCTUnwrap(outcomes["pool1"]?[0].fault)
        // read_field is local: no symbol contains its pc any more, so it has no name (never `bug`'s).
        XCTAssertNil(nullRead.backtrace.first?.symbol, "\(nullRead.backtrace)")
        XCTAssertTrue(Bucket.significantFrames(of: nullRead).first?.hasPrefix("libbugs_stripped.so@") ?? false,
                      "\(Bucket.significantFrames(of: nullRead))")
    }

    func testKeysDoNotDependOnDebugInformation() throws {
        let built = try CompiledCode.library("bugs_dwarf", Self.source, flags: ["-O2", "-g", "-fno-omit-frame-pointer"])
        let bare = try CompiledCode.copy(built, to: "libbugs_nodwarf.so")
        try CompiledCode.run("/usr/bin/strip", ["--strip-debug", bare])
        func keys(_ library: String) throws -> [String?] {
            let pool = try WorkerPool(library: library, symbol: "bug", configuration: .init(workers: 1))
            return try pool.run(Self.inputs).map { Triage.key(of: $0) }
        }
        let withDWARF = try keys(built)
        XCTAssertEqual(withDWARF, try keys(bare))
        XCTAssertEqual(Set(withDWARF.compactMap { $0 }).count, 5)
    }

    func testALibraryTheCalleeLoadsDuringTheCallIsNamedInEveryStrategy() throws {
        let inner = try CompiledCode.library("lazy_inner", """
        __attribute__((noinline)) static int deep(int *p) { return *p; }
        int inner_crash(int n) { return deep((int *)(long)(n * 16)); }
        """, flags: ["-O0", "-g"])
        let outer = try CompiledCode.library("lazy_outer", """
        #include <dlfcn.h>
        int bug(int n) {
            void *h = dlopen("\(inner)", RTLD_NOW);
            if (!h || n == 0) return n;
            int (*f)(int) = (int (*)(int))dlsym(h, "inner_crash");
            return f(n) + 1;
        }
        """, flags: ["-O0", "-g", "-ldl"])
        // Loaded after the pool's helper (and this process) last looked: the crashed process notes it.
        let outcomes = try buckets(outer, inputs: [1, 2, 0])
        for (strategy, list) in outcomes {
            let fault = try XCTUnwrap(list[0].fault, strategy)
            XCTAssertEqual(fault.backtrace.map(\.symbol), ["deep", "inner_crash", "bug"], "\(strategy): \(fault.backtrace)")
            XCTAssertEqual(fault.backtrace.first?.imageName, "liblazy_inner.so")
            XCTAssertNotNil(fault.backtrace.first?.buildID)
            XCTAssertEqual(Triage.key(of: list[0]), Triage.key(of: outcomes["fork"]![1]), strategy)
            XCTAssertEqual(list[2], .returned(0))
        }
    }

    func testCxxNamesAndAnUncaughtException() throws {
        let library = try CompiledCode.library("bugs_cxx", Self.cxxSource, cxx: true, flags: ["-O2", "-g", "-fno-omit-frame-pointer"])
        let inputs: [Int32] = [1, 11, 6, 16, 0]
        let pool = try WorkerPool(library: library, symbol: "bug", configuration: .init(workers: 2))
        let outcomes = Array(try pool.run(inputs))
        let forked = try inputs.map { try ForkStrategy(try NativeFunction(library: library, symbol: "bug")).call($0) }
        XCTAssertEqual(outcomes.map { Triage.key(of: $0) }, forked.map { Triage.key(of: $0) })
        let nullRead = try XCTUnwrap(outcomes[0].fault)
        XCTAssertEqual(nullRead.backtrace.first?.symbol.map(SourceSymbolizer.baseName), "(anonymous namespace)::read_field(int const*)",
                       "\(nullRead.backtrace)")
        XCTAssertTrue(nullRead.backtrace.contains { $0.symbol == "parser::parse(int)" }, "\(nullRead.backtrace)")
        let thrown = try XCTUnwrap(outcomes[2].fault)
        XCTAssertEqual(thrown.signal, .abort)
        XCTAssertEqual(thrown.message, "uncaught exception of type std::runtime_error")
        XCTAssertEqual(Triage.key(of: outcomes[2]), Triage.key(of: outcomes[3]))
        XCTAssertNotEqual(Triage.key(of: outcomes[0]), Triage.key(of: outcomes[2]))
        XCTAssertEqual(outcomes[4], .returned(0))
    }

    func testZlibIntoTwoBadDestinationsIsOneBucket() throws {
        let shim = """
        #include <stdlib.h>
        #include <zlib.h>
        int unpack_into(long destination) {
            static unsigned char plain[1 << 16];
            for (unsigned i = 0; i < sizeof plain; i++) plain[i] = (unsigned char)(i * 7 + i / 251);
            uLongf packed_length = compressBound(sizeof plain);
            unsigned char *packed = malloc(packed_length);
            compress(packed, &packed_length, plain, sizeof plain);
            uLongf length = sizeof plain;
            return uncompress((Bytef *)destination, &length, packed, packed_length);
        }
        """
        let library = try CompiledCode.library("zshim", shim, flags: ["-O2", "-Wl,--no-as-needed", "-l:libz.so.1"])
        let pool = try WorkerPool(library: library, symbol: "unpack_into", configuration: .init(workers: 1))
        let outcomes = Array(try pool.run([0x10, Int32(bitPattern: 0x7000_0000)]))
        let keys = outcomes.map { Triage.key(of: $0) }
        XCTAssertNotNil(keys[0])
        XCTAssertEqual(keys[0], keys[1], "\(outcomes)")
        let fault = try XCTUnwrap(outcomes[0].fault)
        XCTAssertTrue(fault.backtrace.contains { $0.imageName == "libz.so.1.2.13" || ($0.imageName?.hasPrefix("libz.so") ?? false) }, "\(fault.backtrace)")
        XCTAssertEqual(fault.backtrace.last?.symbol, "unpack_into")
        XCTAssertEqual(fault.access, .write)
    }

    func testTriageGroupsLargestFirst() throws {
        let library = try CompiledCode.library("bugs_triage", Self.source, flags: ["-O2"])
        let pool = try WorkerPool(library: library, symbol: "bug", configuration: .init(workers: 2))
        let inputs: [Int32] = [5, 1, 0, 11, 15, 21, 10, 2]
        let triage = Triage(try pool.run(inputs))
        XCTAssertEqual(triage.total, 8)
        XCTAssertEqual(triage.returned, 2)
        XCTAssertEqual(triage.groups.map(\.count), [3, 2, 1])
        XCTAssertEqual(triage.groups.map(\.indices), [[1, 3, 5], [0, 4], [7]])
        XCTAssertEqual(triage.groups[1].outcome.signal, .floatingPointException)
    }

    /// A call through a bad pointer faults fetching the instruction at its
    /// target, which has no unwind entry: the backtrace is that address, then
    /// the caller, from the return address the call pushed. Two callers are
    /// two buckets; each is one bucket under every strategy.
    func testACallThroughABadPointerNamesItsCaller() throws {
        let library = try CompiledCode.library("badcall", """
        typedef int (*handler)(int);
        __attribute__((noinline)) int dispatch_null(int n) { handler volatile h = 0; return h(n) + 1; }
        __attribute__((noinline)) int dispatch_wild(int n) { handler volatile h = (handler)0x10000; return h(n) + 1; }
        int bug(int input) { return input == 1 ? dispatch_null(input) : input == 2 ? dispatch_wild(input) : input; }
        """, flags: ["-O1", "-g"])
        let inputs: [Int32] = [1, 2, 1, 3]
        let pool = try WorkerPool(library: library, symbol: "bug", configuration: .init(workers: 2))
        defer { pool.shutdown() }
        let function = try NativeFunction(library: library, symbol: "bug")
        let byStrategy: [String: [Outcome]] = [
            "pool": Array(try pool.run(inputs)),
            "fork": try inputs.map { try ForkStrategy(function, timeout: .seconds(30)).call($0) },
            "guard": try inputs.map { try GuardStrategy(function).call($0) },
        ]
        for (strategy, outcomes) in byStrategy {
            XCTAssertEqual(outcomes[3], .returned(3), strategy)
            for (index, caller, target) in [(0, "dispatch_null", UInt64(0)), (1, "dispatch_wild", UInt64(0x10000))] {
                let fault = try XCTUnwrap(outcomes[index].fault, "\(strategy): \(outcomes[index])")
                XCTAssertEqual(fault.access, .exec, strategy)
                XCTAssertEqual(fault.backtrace.first?.address, target, "\(strategy): \(fault.backtrace)")
                XCTAssertEqual(fault.backtrace.dropFirst().first?.symbol, caller, "\(strategy): \(fault.backtrace)")
                XCTAssertTrue(fault.cutAtCall, "\(strategy): \(fault.backtrace)")
            }
            XCTAssertEqual(outcomes[0].fault?.bucket, outcomes[2].fault?.bucket, strategy)
            XCTAssertNotEqual(outcomes[0].fault?.bucket, outcomes[1].fault?.bucket, strategy)
        }
        XCTAssertEqual(Set(byStrategy.values.map { $0[0].fault?.bucket }).count, 1)
    }
}
