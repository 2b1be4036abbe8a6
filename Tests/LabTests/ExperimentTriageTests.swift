import ExperimentKit
import Faultline
import XCTest

/// Experiment 13: six bugs, six buckets, the same keys under every strategy, and what pebble says instead.
final class ExperimentTriageTests: XCTestCase {
    /// The rows of a Markdown table block, each split into trimmed cells (the first and last, empty, dropped).
    private func table(_ result: ExperimentResult, caption prefix: String) throws -> (header: [String], rows: [[String]]) {
        let text = try XCTUnwrap(result.blocks.first { $0.caption.hasPrefix(prefix) }?.text, "no block '\(prefix)…'")
        let rows = text.split(separator: "\n").map { line in
            Array(line.split(separator: "|", omittingEmptySubsequences: false).map { $0.trimmingCharacters(in: .whitespaces) }.dropFirst().dropLast())
        }
        return (rows[0], Array(rows.dropFirst(2)))
    }

    func testSixBugsGiveSixBucketsWithTheSameKeysUnderEveryStrategy() throws {
        let result = try ExperimentRunner.run("13-triage", budget: 2, [], deadline: 300)
        XCTAssertNil(result.skipped)
        func figure(_ key: String) throws -> Double { try XCTUnwrap(result.measurement(key), key) }

        // Six bugs, six distinct buckets, each holding the inputs of one bug only.
        XCTAssertEqual(try figure("bugs_reached"), 6)
        XCTAssertEqual(try figure("bug_buckets"), 6)
        XCTAssertEqual(try figure("one_bucket_per_bug"), 1)
        XCTAssertEqual(try figure("groups_pool"), 6)
        XCTAssertEqual(try figure("answered_pool"), try figure("inputs"))

        // The same key for every input under the pool, fork per call and the guard (where it answered).
        XCTAssertEqual(try figure("answered_fork"), try figure("inputs"))
        XCTAssertEqual(try figure("key_mismatches_fork"), 0)
        XCTAssertEqual(try figure("key_mismatches_guard"), 0)
        if try figure("answered_guard") == figure("inputs") { XCTAssertEqual(try figure("groups_guard"), 6) }

        // Real libraries: zlib's two destinations are one bucket, libc's two pointers another, under every strategy.
        XCTAssertEqual(try figure("zlib_buckets"), 1)
        XCTAssertEqual(try figure("zlib_keys_agree"), 1)
        XCTAssertEqual(try figure("zlib_control_returned"), 0)
        XCTAssertEqual(try figure("libc_buckets"), 1)
        XCTAssertEqual(try figure("libc_keys_agree"), 1)

        // The bucket table: six rows, top frames named with file:line in the bugs library (it has DWARF), never +0x.
        let buckets = try table(result, caption: "the buckets")
        XCTAssertEqual(buckets.rows.count, 6, "\(buckets.rows)")
        let frames = try XCTUnwrap(buckets.header.firstIndex { $0.hasPrefix("top frames") })
        let reproduced = try XCTUnwrap(buckets.header.firstIndex { $0.contains("reproduced") })
        for row in buckets.rows {
            let named = row[frames].components(separatedBy: "<br>")
            XCTAssertFalse(named.isEmpty)
            for frame in named {
                XCTAssertTrue(frame.contains("(bugs.cpp:"), "a frame without file:line: \(frame)")
                XCTAssertFalse(frame.contains("+0x"), "a raw offset: \(frame)")
            }
            XCTAssertEqual(row[reproduced], "3/3", "\(row)")
        }

        // pebble says only that a worker died, with the signal's number: never a bucket.
        let strategies = try table(result, caption: "the same")
        let pebble = try XCTUnwrap(strategies.rows.first { $0[0].hasPrefix("pebble") }, "\(strategies.rows)")
        let said = pebble.joined(separator: " | ")
        XCTAssertFalse(said.contains("fl1-"), said)
        XCTAssertTrue(said.contains("none (pebble gives no key)") || said.contains("not available"), said)
        if try figure("pebble_finished") == 1 {
            XCTAssertEqual(try figure("pebble_failed"), try figure("faults_expected"))
            XCTAssertTrue(said.contains("ProcessExpired: Abnormal termination (exitcode -11)"), said)
        }
    }
}
