import ArgumentParser
import Faultline

/// `faultline triage LIBRARY SYMBOL [options of call] [--json] [--replays N] [--] INPUT...`
struct TriageCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "triage",
        abstract: "Run the inputs as `faultline call` does, then group the failures by bug.",
        discussion: """
        Takes the arguments and options of `faultline call` and runs the inputs
        the same way. Instead of one line per input it prints one block per
        group of failures, largest first: every crash with the same bucket
        (signal, access and the top 3 significant frames; see README, "Crash
        reports") is one group; every call that timed out is one; exit() is
        one per status; corrupted records are one.

        A block shows the count, the signal, access, heuristic severity and
        the C runtime's message, the top frames as `symbol (file:line)`, the
        first input and up to 4 more, and a command that reproduces it: the
        first input run again alone in a fresh process (`faultline call …
        --strategy fork`), --replays times (default 3), which the block
        reports as "reproduced 3/3" or "flaky 1/3".

        --json prints one JSON object per group instead:
          {"bucket":"fl1-…","count":312,"outcome":"signaled","signal":"SIGSEGV",
           "access":"write","severity":{…},"message":null,"frames":[…top 5…],
           "inputs":[…first 5…],"reproduce":["/…/faultline","call",…],
           "reproduced":3}
        ("bucket" is "timeout", "exit:<status>" or "corrupted" for the other
        groups), then a final line {"total":N,"returned":R,"groups":K}.

        Exit status: as for `faultline call`.
        """
    )

    @OptionGroup var options: CallOptions

    @Flag(help: "One JSON object per group, then a line with the totals.")
    var json = false

    @Option(help: "How many times the first input of each group runs again alone (0: none).")
    var replays: Int = 3

    func validate() throws {
        if replays < 0 || replays > 100 { throw ValidationError("--replays must be between 0 and 100, got \(replays)") }
    }

    func run() throws {
        var triage = Triage()
        var inputs: [Int: String] = [:]
        var stream: OutputStream?
        try options.run { output, chunk in
            stream = output
            for (offset, outcome) in chunk.outcomes.enumerated() {
                let index = chunk.firstIndex + offset
                // Only the inputs a block can show are kept: the first 5 of each group.
                if let key = triage.add(outcome, index: index), let group = triage.group(forKey: key),
                   group.count <= TriageReport.shownInputs {
                    inputs[index] = chunk.inputJSON(offset)
                }
            }
        }
        guard let output = stream else { return }
        let replayer = Replayer(options: options, times: replays)
        let report = TriageReport(triage: triage, inputs: inputs, replayer: replayer)
        for line in json ? report.jsonLines() : report.textLines() { output.write(line) }
        output.flush()
    }
}
