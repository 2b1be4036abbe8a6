import CFaultline
@_spi(Measurement) import Faultline
import FaultlineHarness
import FaultlineTestSupport
import Foundation
import XCTest
#if canImport(Glibc)
import Glibc
#endif

/// The source symbolizer on code compiled here: names of static, local and
/// anonymous-namespace functions, lines of marked statements, inlined frames,
/// no name past a symbol's end, executables without -rdynamic, separate debug
/// files, build-ids, and debuginfod kept off.
final class SourceSymbolizerTests: XCTestCase {
    /// A library whose functions record their return addresses, so that a
    /// test holds a real pc on a marked line. The `ORDER` comment keeps
    /// `sym_exported_before` right before the local `sym_local_helper`.
    static let cSource = """
        /* sym_c.c: functions to name. */
        static void *volatile recorded[4];
        __attribute__((noinline)) void sym_record(int slot) { recorded[slot] = __builtin_return_address(0); }
        void *sym_recorded(int slot) { return recorded[slot]; }

        /* ORDER: exported, then local. */
        __attribute__((noinline)) int sym_exported_before(int x) { return x * 7 + 1; }

        static __attribute__((noinline)) int sym_local_helper(int x) {
            sym_record(0); /* MARK_LOCAL */
            return x + 1;
        }

        static inline __attribute__((always_inline)) int sym_inner_inlined(int x) {
            sym_record(1); /* MARK_INNER */
            return x * 3;
        }

        __attribute__((noinline)) int sym_outer(int x) {
            int y = sym_inner_inlined(x); /* MARK_OUTER */
            return y + 1;
        }

        int sym_entry(int x) { return sym_local_helper(x) + sym_outer(x) + sym_exported_before(x); }
        const char *sym_token(void) { return "TOKEN"; }
        """

    /// Keeps each run's build-ids its own (a debuginfod client caches by build-id).
    static let token = "run-\(getpid())-\(time(nil))"

    /// A compiled C library, opened, with `sym_entry` called: the return addresses are recorded.
    struct Opened {
        var path: String
        var handle: UnsafeMutableRawPointer
        /// The return address recorded in `slot` (0: in sym_local_helper, 1: in sym_outer's inlined call).
        func recorded(_ slot: Int32) throws -> UInt64 {
            typealias Recorded = @convention(c) (Int32) -> UnsafeMutableRawPointer?
            let function = unsafeBitCast(try XCTUnwrap(dlsym(handle, "sym_recorded")), to: Recorded.self)
            return UInt64(UInt(bitPattern: try XCTUnwrap(function(slot))))
        }
    }

    /// Compiles the C library as `name` with `flags` (and runs `prepare` on the file), then opens it and calls it.
    private func openC(_ name: String, _ flags: [String], compiler: String? = nil,
                       prepare: (String) throws -> String = { $0 }) throws -> Opened {
        let built = try CompiledCode.library(name, Self.cSource.replacingOccurrences(of: "TOKEN", with: Self.token + name),
                                             compiler: compiler, flags: flags + (compiler == nil ? ["-fno-toplevel-reorder"] : []))
        let path = try prepare(built)
        let handle = try XCTUnwrap(dlopen(path, RTLD_NOW | RTLD_LOCAL), String(cString: dlerror()))
        typealias Entry = @convention(c) (Int32) -> Int32
        _ = unsafeBitCast(try XCTUnwrap(dlsym(handle, "sym_entry")), to: Entry.self)(2)
        return Opened(path: path, handle: handle)
    }

    /// The frames of a pc of this process, through ImageLocation as a crash report would.
    private func frames(_ pc: UInt64, isReturnAddress: Bool = true) throws -> (ImageLocation, [SourceFrame]) {
        let image = try XCTUnwrap(ImageLocation.locate(pc))
        return (image, SourceSymbolizer.resolve(image: image.path, buildID: image.buildID, offset: image.offset(of: pc),
                                                isReturnAddress: isReturnAddress))
    }

    private func line(_ marker: String) -> Int? { CompiledCode.line(of: marker, in: Self.cSource) }

    func testStaticFunctionNameFileAndLineAtO0() throws {
        let library = try openC("sym_o0", ["-O0", "-g"])
        let pc = try library.recorded(0)
        let (image, frames) = try frames(pc)
        XCTAssertEqual(image.path, library.path)
        XCTAssertEqual(frames.count, 1, "\(frames)")
        let frame = try XCTUnwrap(frames.first)
        XCTAssertEqual(frame.symbol, "sym_local_helper")
        XCTAssertEqual(frame.file.map { ($0 as NSString).lastPathComponent }, "sym_o0.c")
        XCTAssertEqual(frame.line, line("MARK_LOCAL"))
        XCTAssertFalse(frame.inlined)
        let start = try CompiledCode.symbol("sym_local_helper", in: library.path).value
        XCTAssertEqual(frame.symbolOffset, image.offset(of: pc) - start)
        // The backtrace symbolizer names it the same way (dladdr, which sees no static function, is not used).
        XCTAssertEqual(Symbolizer.frame(for: pc, isReturnAddress: true).symbol, "sym_local_helper")
    }

    func testInlinedFramesComeInnermostFirstWithTheRealFunctionLast() throws {
        let library = try openC("sym_o2", ["-O2", "-g"])
        let (image, chain) = try frames(try library.recorded(1))
        XCTAssertEqual(chain.map(\.symbol), ["sym_inner_inlined", "sym_outer"], "\(chain)")
        XCTAssertEqual(chain.map(\.inlined), [true, false])
        XCTAssertEqual(chain.map(\.line), [line("MARK_INNER"), line("MARK_OUTER")])
        XCTAssertTrue(chain.allSatisfy { $0.file?.hasSuffix("/sym_o2.c") == true }, "\(chain)")
        XCTAssertNil(chain.first?.symbolOffset, "an inlined frame has no start of its own")
        XCTAssertNotNil(chain.last?.symbolOffset)

        // A function's first instruction, as a faulting pc: offset 0 in it.
        let start = try CompiledCode.symbol("sym_outer", in: library.path)
        let atStart = SourceSymbolizer.resolve(image: image.path, buildID: image.buildID, offset: start.value, isReturnAddress: false)
        XCTAssertEqual(atStart.last?.symbol, "sym_outer")
        XCTAssertEqual(atStart.last?.symbolOffset, 0)
        // The local helper at -O2 (a clone gets a suffix that baseName strips).
        let (_, local) = try frames(try library.recorded(0))
        XCTAssertEqual(local.last.flatMap(\.symbol).map(SourceSymbolizer.baseName), "sym_local_helper", "\(local)")
        XCTAssertEqual(local.last?.line, line("MARK_LOCAL"))
    }

    /// clang emits no .debug_aranges, through which libdw 0.188 finds a unit: units.c indexes them itself.
    func testClangCodeWithoutDebugArangesHasLinesAndInlinedFrames() throws {
        guard let clang = CompiledCode.clang else { throw XCTSkip("no clang") }
        let library = try openC("sym_clang", ["-O2", "-g"], compiler: clang)
        XCTAssertNil(try CompiledCode.section(".debug_aranges", of: library.path), "the case this test is for: no .debug_aranges")
        let (_, chain) = try frames(try library.recorded(1))
        XCTAssertEqual(chain.map(\.symbol), ["sym_inner_inlined", "sym_outer"], "\(chain)")
        XCTAssertEqual(chain.map(\.line), [line("MARK_INNER"), line("MARK_OUTER")])
        XCTAssertTrue(chain.allSatisfy { $0.file?.hasPrefix("/") == true && $0.file?.hasSuffix("/sym_clang.c") == true }, "\(chain)")
        let (_, local) = try frames(try library.recorded(0))
        XCTAssertEqual(local.last?.line, line("MARK_LOCAL"), "\(local)")
    }

    func testWithoutDebugInfoTheSymbolTableStillNamesStaticFunctions() throws {
        let library = try openC("sym_nog", ["-O0"])
        let (_, frames) = try frames(try library.recorded(0))
        XCTAssertEqual(frames.map(\.symbol), ["sym_local_helper"])
        XCTAssertNil(frames.first?.file)
        XCTAssertNil(frames.first?.line)
    }

    func testStrippedLibraryGivesNoNamePastAnExportedSymbolsEnd() throws {
        let library = try openC("sym_stripped", ["-O0", "-g"]) { built in
            let copy = try CompiledCode.copy(built, to: "libsym_stripped_copy.so")
            try CompiledCode.run("/usr/bin/strip", [copy])
            return copy
        }
        let unstripped = CompiledCode.directory + "/libsym_stripped.so"
        let exported = try CompiledCode.symbol("sym_exported_before", in: unstripped)
        let local = try CompiledCode.symbol("sym_local_helper", in: unstripped)
        XCTAssertGreaterThanOrEqual(local.value, exported.value + exported.size, "the library's layout is not the one built for")
        XCTAssertTrue(try CompiledCode.symbols(library.path).isEmpty, "not stripped")
        let pc = try library.recorded(0)
        let (image, frames) = try frames(pc)
        XCTAssertGreaterThan(image.offset(of: pc), exported.value + exported.size)
        XCTAssertNil(frames.last?.symbol, "\(frames)")
        // An exported function of the same library is still named (addr2line -f would give its name above too).
        let atExported = SourceSymbolizer.resolve(image: image.path, buildID: image.buildID, offset: exported.value + 1,
                                                  isReturnAddress: false)
        XCTAssertEqual(atExported.last?.symbol, "sym_exported_before")
    }

    func testDebianZlibLocalCodeIsNotNamedAfterAnExport() throws {
        let path = "/lib/x86_64-linux-gnu/libz.so.1"
        guard access(path, R_OK) == 0 else { throw XCTSkip("no \(path)") }
        let exported = try CompiledCode.symbols(path, dynamic: true).filter { "Tt".contains($0.type) && $0.size > 0 }
        let text = try XCTUnwrap(try CompiledCode.section(".text", of: path))
        // Stretches of .text outside every exported function (local functions such as inflate_fast).
        var gaps: [(UInt64, UInt64)] = []
        var covered = text.address
        for symbol in exported.sorted(by: { $0.value < $1.value }) {
            if symbol.value > covered + 64 { gaps.append((covered, symbol.value)) }
            covered = max(covered, symbol.value + symbol.size)
        }
        XCTAssertFalse(gaps.isEmpty, "no local code in \(path)?")
        let names = Set(exported.map(\.name).map { String($0.prefix { $0 != "@" }) })
        let buildID = try CompiledCode.buildID(path)
        let hasDebugFile = buildID.map { access("/usr/lib/debug/.build-id/\($0.prefix(2))/\($0.dropFirst(2)).debug", R_OK) == 0 } ?? false
        for (start, end) in gaps {
            let offset = start + (end - start) / 2
            let frames = SourceSymbolizer.resolve(image: path, buildID: nil, offset: offset, isReturnAddress: false)
            if hasDebugFile {
                XCTAssertFalse(frames.last?.symbol.map(names.contains) ?? false, "0x\(String(offset, radix: 16)): \(frames)")
            } else {
                XCTAssertNil(frames.last?.symbol, "0x\(String(offset, radix: 16)) is inside no exported function: \(frames)")
            }
        }
        let inflate = try XCTUnwrap(exported.first { $0.name.hasPrefix("inflate@") || $0.name == "inflate" })
        XCTAssertEqual(SourceSymbolizer.resolve(image: path, buildID: nil, offset: inflate.value + 8, isReturnAddress: false).last?.symbol,
                       "inflate")
    }

    func testAnonymousNamespaceAndStaticCxxFunctionsAreDemangled() throws {
        let source = """
            extern "C" { static void *volatile recorded[2];
                __attribute__((noinline)) void cxx_record(int slot) { recorded[slot] = __builtin_return_address(0); }
                void *cxx_recorded(int slot) { return recorded[slot]; } }
            namespace {
            __attribute__((noinline)) int hidden(int x) {
                cxx_record(0); /* MARK_ANON */
                return x + 2;
            }
            }
            namespace parser { __attribute__((noinline)) static int mid_static(int x) { cxx_record(1); return x * 2; } }
            extern "C" int cxx_entry(int x) { return hidden(x) + parser::mid_static(x); }
            """
        let path = try CompiledCode.library("sym_cxx", source, cxx: true, flags: ["-O2", "-g"])
        let handle = try XCTUnwrap(dlopen(path, RTLD_NOW | RTLD_LOCAL))
        typealias Entry = @convention(c) (Int32) -> Int32
        typealias Recorded = @convention(c) (Int32) -> UnsafeMutableRawPointer?
        _ = unsafeBitCast(try XCTUnwrap(dlsym(handle, "cxx_entry")), to: Entry.self)(1)
        let recorded = unsafeBitCast(try XCTUnwrap(dlsym(handle, "cxx_recorded")), to: Recorded.self)
        let (_, anonymous) = try frames(UInt64(UInt(bitPattern: try XCTUnwrap(recorded(0)))))
        XCTAssertEqual(anonymous.last?.symbol, "(anonymous namespace)::hidden(int)", "\(anonymous)")
        XCTAssertEqual(anonymous.last?.line, CompiledCode.line(of: "MARK_ANON", in: source))
        let (_, member) = try frames(UInt64(UInt(bitPattern: try XCTUnwrap(recorded(1)))))
        XCTAssertEqual(member.last.flatMap(\.symbol).map(SourceSymbolizer.baseName), "parser::mid_static(int)", "\(member)")
    }

    func testExecutablesWithoutRdynamicAreNamedByPathPIEOrNot() throws {
        let source = """
            static __attribute__((noinline)) int exe_local(int x) {
                return x * 5; /* MARK_EXE */
            }
            int main(int argc, char **argv) { (void)argv; return exe_local(argc); }
            """
        for (name, flags) in [("sym_exe_pie", ["-fPIE", "-pie"]), ("sym_exe_nopie", ["-fno-pie", "-no-pie"])] {
            let path = try CompiledCode.compile(name, source, flags: ["-O0", "-g"] + flags, output: name)
            XCTAssertTrue(try CompiledCode.symbols(path, dynamic: true).allSatisfy { $0.name != "exe_local" && $0.name != "main" })
            for function in ["exe_local", "main"] {
                let symbol = try CompiledCode.symbol(function, in: path)
                let frames = SourceSymbolizer.resolve(image: path, buildID: nil, offset: symbol.value + 4, isReturnAddress: false)
                XCTAssertEqual(frames.last?.symbol, function, "\(name): \(frames)")
                XCTAssertEqual(frames.last?.symbolOffset, 4, name)
                XCTAssertEqual(frames.last?.file.map { ($0 as NSString).lastPathComponent }, name + ".c", name)
            }
            if name == "sym_exe_nopie" {
                XCTAssertGreaterThanOrEqual(try CompiledCode.symbol("main", in: path).value, 0x400000, "not an ET_EXEC at 0x400000")
            }
        }
    }

    func testSeparateDebugFileIsFoundByDebuglinkAndCheckedByBuildID() throws {
        let library = try openC("sym_split", ["-O0", "-g"]) { built in
            let stripped = try CompiledCode.copy(built, to: "libsym_split_stripped.so")
            let debug = CompiledCode.directory + "/libsym_split.debug"
            try CompiledCode.run("/usr/bin/objcopy", ["--only-keep-debug", built, debug])
            try CompiledCode.run("/usr/bin/strip", [stripped])
            try CompiledCode.run("/usr/bin/objcopy", ["--add-gnu-debuglink=" + debug, stripped])
            return stripped
        }
        let (image, frames) = try frames(try library.recorded(0))
        XCTAssertEqual(frames.last?.symbol, "sym_local_helper", "\(frames)")
        XCTAssertEqual(frames.last?.line, line("MARK_LOCAL"))

        // A debug file of another build under the same name is not used: no lines, no names from it.
        let other = try CompiledCode.library("sym_split_other", Self.cSource + "\nint sym_other(void) { return 1; }\n", flags: ["-O0", "-g"])
        let debug = CompiledCode.directory + "/libsym_split.debug"
        try CompiledCode.run("/usr/bin/objcopy", ["--only-keep-debug", other, debug])
        SourceSymbolizer.clearCaches()
        let stale = SourceSymbolizer.resolve(image: image.path, buildID: image.buildID, offset: image.offset(of: try library.recorded(0)),
                                             isReturnAddress: true)
        XCTAssertNil(stale.last?.line, "\(stale)")
        XCTAssertNil(stale.last?.symbol, "\(stale)")
    }

    func testBuildIDsAreReadelfsAndABuildIDMismatchGivesNothing() throws {
        let library = try openC("sym_buildid", ["-O0"])
        let pc = try library.recorded(0)
        let image = try XCTUnwrap(ImageLocation.locate(pc))
        let expected = try XCTUnwrap(try CompiledCode.buildID(library.path))
        XCTAssertEqual(image.buildID.map(SourceSymbolizer.buildIDHex), expected)
        let entry = try XCTUnwrap(dlsym(library.handle, "sym_entry"))
        XCTAssertEqual(image.offset(of: UInt64(UInt(bitPattern: entry))), try CompiledCode.symbol("sym_entry", in: library.path).value)

        // The main program: the real path of /proc/self/exe, and its build-id.
        let locate: @convention(c) (UInt64, UnsafeMutablePointer<fl_image_location>?) -> Int32 = fl_image_locate
        let program = try XCTUnwrap(ImageLocation.locate(UInt64(UInt(bitPattern: unsafeBitCast(locate, to: UnsafeRawPointer.self)))))
        let exe = try FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")
        XCTAssertEqual(program.path, exe)
        XCTAssertEqual(program.buildID.map(SourceSymbolizer.buildIDHex), try CompiledCode.buildID(exe))
        // The vDSO, and an address in no object.
        let maps = try String(contentsOfFile: "/proc/self/maps", encoding: .utf8)
        if let vdso = maps.split(separator: "\n").first(where: { $0.hasSuffix("[vdso]") }).flatMap({ UInt64($0.prefix { $0 != "-" }, radix: 16) }) {
            XCTAssertEqual(ImageLocation.locate(vdso + 8)?.path, "[vdso]")
        }
        XCTAssertNil(ImageLocation.locate(16))

        // The right build-id resolves; another one gives nothing rather than names of another build.
        let offset = image.offset(of: pc)
        XCTAssertEqual(SourceSymbolizer.resolve(image: image.path, buildID: image.buildID, offset: offset, isReturnAddress: true)
            .last?.symbol, "sym_local_helper")
        let wrong = (image.buildID ?? [1]).map { $0 ^ 0xff }
        XCTAssertEqual(SourceSymbolizer.resolve(image: image.path, buildID: wrong, offset: offset, isReturnAddress: true), [])
        XCTAssertEqual(SourceSymbolizer.resolve(image: "/nonexistent/lib.so", buildID: nil, offset: offset, isReturnAddress: true), [])
    }

    /// DEBUGINFOD_URLS names a local server here: no look-up reaches it unless FAULTLINE_DEBUGINFOD=1
    /// (the control: then the same look-up does, so the server would have seen one).
    func testDebuginfodStaysOffUnlessAskedFor() throws {
        let server = try LocalServer()
        defer { server.stop() }
        let cache = CompiledCode.directory + "/debuginfod-cache"
        let names = ["DEBUGINFOD_URLS", "DEBUGINFOD_CACHE_PATH", "DEBUGINFOD_TIMEOUT", "FAULTLINE_DEBUGINFOD"]
        let saved = names.map { name in (name, getenv(name).map { String(cString: $0) }) }
        defer {
            for (name, value) in saved { if let value { setenv(name, value, 1) } else { unsetenv(name) } }
            SourceSymbolizer.clearCaches()
        }
        setenv("DEBUGINFOD_URLS", "http://127.0.0.1:\(server.port)", 1)
        setenv("DEBUGINFOD_CACHE_PATH", cache, 1)
        setenv("DEBUGINFOD_TIMEOUT", "5", 1)
        unsetenv("FAULTLINE_DEBUGINFOD")
        // Without DWARF in the file (strip -g), the symbolizer looks for a debug file.
        let library = try openC("sym_debuginfod", ["-O0", "-g"]) { built in
            let copy = try CompiledCode.copy(built, to: "libsym_debuginfod_nodwarf.so")
            try CompiledCode.run("/usr/bin/strip", ["-g", copy])
            return copy
        }
        SourceSymbolizer.clearCaches()
        let (_, offline) = try frames(try library.recorded(0))
        XCTAssertEqual(offline.last?.symbol, "sym_local_helper")
        XCTAssertNil(offline.last?.line)
        XCTAssertEqual(server.connections(waiting: 0.3), 0, "debuginfod was asked without FAULTLINE_DEBUGINFOD=1")

        setenv("FAULTLINE_DEBUGINFOD", "1", 1)
        SourceSymbolizer.clearCaches()
        _ = try frames(try library.recorded(0))
        XCTAssertGreaterThan(server.connections(waiting: 5), 0, "the control: with FAULTLINE_DEBUGINFOD=1 the server is asked")
    }

    /// libdw is loaded on the first look-up, not linked: `faultline` (which links Faultline) maps none of it
    /// while it only calls (a callee reads the maps of the process it runs in, under the guard).
    func testLibdwIsMappedOnlyOnceSomethingIsNamed() throws {
        let probe = try CompiledCode.library("sym_maps", """
            #include <stdio.h>
            #include <string.h>
            int maps_libdw(int x) {
                FILE *maps = fopen("/proc/self/maps", "r");
                char line[4096];
                int found = 0;
                while (maps && fgets(line, sizeof line, maps)) found |= strstr(line, "/libdw") != NULL;
                if (maps) fclose(maps);
                return found + x;
            }
            """, flags: ["-O1"])
        let (process, status) = try ChildProcess.run(Fixtures.faultline, ["call", probe, "maps_libdw", "--strategy", "guard", "0"],
                                                     timeout: 60)
        XCTAssertEqual(status, .exitCode(0), process.standardError)
        XCTAssertEqual(process.standardOutput.trimmingCharacters(in: .whitespacesAndNewlines),
                       #"{"input":0,"outcome":"returned","value":0}"#)
        // The control: once this process has named a frame, libdw is mapped here.
        let library = try openC("sym_mapped", ["-O0"])
        XCTAssertFalse(try frames(try library.recorded(0)).1.isEmpty)
        XCTAssertTrue(SourceSymbolizer.isAvailable)
        let handle = try XCTUnwrap(dlopen(probe, RTLD_NOW | RTLD_LOCAL))
        typealias Probe = @convention(c) (Int32) -> Int32
        XCTAssertEqual(unsafeBitCast(try XCTUnwrap(dlsym(handle, "maps_libdw")), to: Probe.self)(0), 1)
    }

    func testBaseNameStripsCompilerSuffixesOnly() {
        XCTAssertEqual(SourceSymbolizer.baseName("inflate.part.0"), "inflate")
        XCTAssertEqual(SourceSymbolizer.baseName("f.cold"), "f")
        XCTAssertEqual(SourceSymbolizer.baseName("g.constprop.0.isra.0"), "g")
        XCTAssertEqual(SourceSymbolizer.baseName("h(int) [clone .isra.0] [clone .cold]"), "h(int)")
        XCTAssertEqual(SourceSymbolizer.baseName("a.b.c"), "a.b.c")
        XCTAssertEqual(SourceSymbolizer.baseName("Swift.Int.description"), "Swift.Int.description")
        XCTAssertEqual(SourceSymbolizer.baseName(".cold"), ".cold")
        XCTAssertEqual(SourceSymbolizer.buildIDHex([0x01, 0xab, 0xff]), "01abff")
    }
}
