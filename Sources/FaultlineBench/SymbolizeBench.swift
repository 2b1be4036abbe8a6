import CFaultline
@_spi(Measurement) import Faultline
import FaultlineBenchResult
import FaultlineHarness
#if canImport(Glibc)
import Glibc
#endif

/// Measures what naming a crash frame at the source level costs the first
/// time: `SourceSymbolizer.resolve` on distinct offsets of a C library with
/// DWARF (64 functions with an inlined helper, compiled here with `cc -O2 -g`
/// into a temporary folder, under a deadline), every cache cleared before each
/// round so that each look-up is cold and the image is opened again.
enum SymbolizeBench {
    /// Functions of the generated library.
    static let functions = 64
    /// Offsets looked up in each function: its first instruction, then every 4 bytes.
    static let offsetsPerFunction = 4

    /// The generated library's C: `fl_bench_sym_N`, each a loop around an always-inlined helper.
    static var source: String {
        var text = """
            static inline __attribute__((always_inline)) unsigned mix(unsigned x, unsigned k) {
                x ^= x >> 3;
                x *= 0x9e3779b1u + k;
                return x + (k << 2);
            }

            """
        for index in 0..<functions {
            text += """
                unsigned fl_bench_sym_\(index)(unsigned n) {
                    unsigned sum = \(index)u;
                    for (unsigned i = 0; i < n; i++) {
                        sum += mix(i, \(index)u);
                        if (sum & 1u) sum ^= n;
                    }
                    return sum;
                }

                """
        }
        return text
    }

    /// Runs `rounds` cold rounds. Never throws: a missing compiler or library gives a note.
    static func measure(rounds: Int) -> SymbolizeFigures {
        var figures = SymbolizeFigures()
        let compilers = ["/usr/bin/cc", "/usr/bin/gcc", "/usr/bin/clang"]
        guard let compiler = compilers.first(where: { access($0, X_OK) == 0 }) else {
            figures.note = "not measured: no C compiler (cc)"
            return figures
        }
        var template = Array("/tmp/faultline-symbolize-XXXXXX".utf8CString)
        guard let made = mkdtemp(&template) else {
            figures.note = "not measured: mkdtemp failed (errno \(errno))"
            return figures
        }
        let directory = String(cString: made)
        let sourcePath = directory + "/symbolized.c"
        let library = directory + "/libsymbolized.so"
        defer {
            unlink(sourcePath)
            unlink(library)
            rmdir(directory)
        }
        guard let file = fopen(sourcePath, "w") else {
            figures.note = "not measured: cannot write \(sourcePath)"
            return figures
        }
        fputs(source, file)
        fclose(file)
        let compiled = try? BenchChildren.run(compiler, ["-shared", "-fPIC", "-O2", "-g", "-o", library, sourcePath], timeout: 60)
        guard compiled?.status == .exitCode(0) else {
            figures.note = "not measured: \(compiler) could not build the library"
            return figures
        }
        guard let handle = dlopen(library, RTLD_NOW | RTLD_LOCAL) else {
            figures.note = "not measured: dlopen \(library) failed"
            return figures
        }
        defer { dlclose(handle) }
        let starts = (0..<functions).compactMap { dlsym(handle, "fl_bench_sym_\($0)").map { UInt64(UInt(bitPattern: $0)) } }
        guard starts.count == functions, let image = ImageLocation.locate(starts[0]) else {
            figures.note = "not measured: the library's functions were not found"
            return figures
        }
        let offsets = starts.flatMap { start in (0..<offsetsPerFunction).map { image.offset(of: start) + UInt64($0 * 4) } }
        func resolveAll() -> [[SourceFrame]] {
            offsets.map { SourceSymbolizer.resolve(image: image.path, buildID: image.buildID, offset: $0, isReturnAddress: false) }
        }

        var cold: [Double] = []
        var first: [Double] = []
        for _ in 0..<max(1, rounds) {
            SourceSymbolizer.clearCaches()
            let start = fl_now_ns()
            _ = SourceSymbolizer.resolve(image: image.path, buildID: image.buildID, offset: offsets[0], isReturnAddress: false)
            let opened = fl_now_ns()
            for offset in offsets.dropFirst() {
                _ = SourceSymbolizer.resolve(image: image.path, buildID: image.buildID, offset: offset, isReturnAddress: false)
            }
            let end = fl_now_ns()
            cold.append(Double(end - start) / Double(offsets.count))
            first.append(Double(opened - start))
        }
        let warmStart = fl_now_ns()
        let frames = resolveAll()
        figures.warmLookupNs = Double(fl_now_ns() - warmStart) / Double(offsets.count)
        figures.coldLookupNs = median(cold)
        figures.firstLookupNs = median(first)
        figures.offsets = offsets.count
        figures.rounds = cold.count
        figures.namedWithLine = frames.filter { $0.last?.symbol != nil && $0.last?.line != nil }.count
        if figures.namedWithLine < offsets.count {
            figures.note = "\(offsets.count - figures.namedWithLine) of \(offsets.count) offsets got no name or no line"
        }
        SourceSymbolizer.clearCaches()
        return figures
    }

    private static func median(_ values: [Double]) -> Double? {
        guard !values.isEmpty else { return nil }
        return values.sorted()[values.count / 2]
    }
}
