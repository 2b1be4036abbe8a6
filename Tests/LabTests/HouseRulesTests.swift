import Foundation
import XCTest

/// The house rules that can be checked on the source tree itself: no file in
/// Sources/ over 400 lines, and README's ARCHITECTURE naming every C file.
final class HouseRulesTests: XCTestCase {
    /// The most lines a source file may have.
    static let lineLimit = 400

    /// The package's root: two folders above this file (Tests/LabTests/).
    static let packageRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .deletingLastPathComponent().deletingLastPathComponent()

    /// Every file under `folder` whose name ends with one of `extensions`, as paths relative to the package root.
    static func sourceFiles(under folder: String, extensions: Set<String>) throws -> [String] {
        let root = packageRoot.appendingPathComponent(folder)
        guard let walk = FileManager.default.enumerator(at: root, includingPropertiesForKeys: [.isRegularFileKey]) else {
            throw CocoaError(.fileReadNoSuchFile, userInfo: [NSFilePathErrorKey: root.path])
        }
        var found: [String] = []
        for case let url as URL in walk where extensions.contains(url.pathExtension) {
            if try url.resourceValues(forKeys: [.isRegularFileKey]).isRegularFile == true {
                found.append(String(url.standardizedFileURL.path.dropFirst(packageRoot.standardizedFileURL.path.count + 1)))
            }
        }
        return found.sorted()
    }

    /// Lines as `wc -l` counts them, plus a last line without its newline.
    static func lineCount(_ data: Data) -> Int {
        let newlines = data.reduce(0) { $0 + ($1 == UInt8(ascii: "\n") ? 1 : 0) }
        return newlines + (data.last.map { $0 == UInt8(ascii: "\n") ? 0 : 1 } ?? 0)
    }

    /// Every .swift, .c, .h and .cpp file in Sources/ has at most 400 lines;
    /// the failure names each one over it, with its count.
    func testNoSourceFileIsOverTheLineLimit() throws {
        let files = try Self.sourceFiles(under: "Sources", extensions: ["swift", "c", "h", "cpp"])
        XCTAssertGreaterThan(files.count, 100, "the walk of Sources/ from \(Self.packageRoot.path) found too few files")
        XCTAssertTrue(files.contains("Sources/CFaultline/pool.c"), "the walk missed Sources/CFaultline/pool.c")
        var over: [String] = []
        for file in files {
            let lines = Self.lineCount(try Data(contentsOf: Self.packageRoot.appendingPathComponent(file)))
            if lines > Self.lineLimit { over.append("\(file) (\(lines) lines)") }
        }
        XCTAssertEqual(over, [], "files over \(Self.lineLimit) lines: \(over.joined(separator: ", "))")
    }

    /// The line count is the one `wc -l` gives, and a last line without a newline counts.
    func testLineCountCountsLikeWc() {
        XCTAssertEqual(Self.lineCount(Data("a\nb\n".utf8)), 2)
        XCTAssertEqual(Self.lineCount(Data("a\nb".utf8)), 2)
        XCTAssertEqual(Self.lineCount(Data()), 0)
    }

    /// README's ARCHITECTURE names every file of Sources/CFaultline (outside
    /// include/) as a word of its own, so that a new file cannot go unlisted.
    func testArchitectureNamesEveryCFile() throws {
        let readme = try String(contentsOf: Self.packageRoot.appendingPathComponent("README.md"), encoding: .utf8)
        let start = try XCTUnwrap(readme.range(of: "## ARCHITECTURE"), "README has no ARCHITECTURE section")
        let section = readme[start.upperBound...]
        let words = Set(section.split(whereSeparator: { " \n,`()".contains($0) }).map(String.init))
        let files = try Self.sourceFiles(under: "Sources/CFaultline", extensions: ["c", "h"])
            .filter { !$0.contains("/include/") }
        XCTAssertGreaterThan(files.count, 20)
        let unnamed = files.map { ($0 as NSString).lastPathComponent }.filter { !words.contains($0) }
        XCTAssertEqual(unnamed, [], "ARCHITECTURE does not name: \(unnamed.joined(separator: ", "))")
    }
}
