import ArgumentParser
import Faultline
#if canImport(Glibc)
import Glibc
#endif

/// `faultline call LIBRARY SYMBOL [--signature SIGNATURE] [--init SYMBOL] [--strategy pool|fork|guard] [--workers N] [--timeout SECONDS] [--] INPUT...`
struct CallCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "call",
        abstract: "Call SYMBOL from LIBRARY once per input and print one JSON line per outcome.",
        discussion: """
        Standard output carries exactly one JSON object per input, in input
        order, and nothing else. Whatever the callee prints goes to stderr.
          {"input":4,"outcome":"returned","value":4}
          {"input":4,"outcome":"signaled","signal":"SIGSEGV","signo":11,
            "address":"0x0","backtrace":["raise_a_fault+0x2a",...]}
          {"input":100,"outcome":"exited","status":100}
          {"input":42,"outcome":"timed_out","seconds":1.0}
          {"input":7,"outcome":"corrupted","detail":"the call returned 5, then
            Faultline found the memory it shares with the worker overwritten"}
        "corrupted": Faultline's own record of the call was destroyed (the
        callee wrote over it); it is never a guess. With --verify-crashes a
        line may end with "replay":{...}: the input run again alone in a fresh
        process. Accidents (wild writes, writes into descriptors, a callee
        that kills or stops its parent or group, forks, daemons, pthread_exit)
        cannot change another input's outcome; a callee written to attack
        Faultline can forge its own. See README, "What is guaranteed".

        Signatures (--signature; without it the signature is int32(int32)
        and each input is a JSON integer, e.g. -7 (no '+', no leading zero),
        or a one-element array, read as with --signature 'int32(int32)'):
          SIGNATURE := RETURN "(" [ PARAM { "," PARAM } ] ")"
          RETURN    := "void" | SCALAR
          PARAM     := SCALAR | "string" | "bytes"
                     | "out_string[" N "]" | "out_bytes[" N "]"
          SCALAR    := int8 int16 int32 int64 uint8 uint16 uint32 uint64
                       float double bool (C spellings too: int, size_t,
                       unsigned char, const char *, ...)
        string is a const char *; bytes is a (const void *, size_t) pair;
        out_string[N]/out_bytes[N] is a (void *, size_t) pair pointing to a
        zero-filled buffer of N bytes (1 to 64 MiB) the callee may fill.
        Each input is one JSON array of the values of the parameters that
        take input, in order (output buffers take none):
          faultline call ./libm.so mix --signature 'double(double, string)' '[1.5, "abc"]'
          {"input":[1.5,"abc"],"outcome":"returned","value":4.5}
        Integers must be exact JSON integers in range; float and double take
        any number or "inf", "-inf", "nan"; bool takes true/false; string a
        JSON string without U+0000; bytes a JSON string (its UTF-8) or
        {"base64":"..."}. Output: "input" is the canonical array, "value" the
        typed return value (null for void; floats shortest, non-finite as
        strings; bytes as {"base64":"..."}), and "out":[...] holds the
        output buffers when the signature has any (out_string as text up to
        its first NUL). Every other outcome carries the input the same way.

        --init SYMBOL: int SYMBOL(void) from the same library, called once
        before the first call in every process that calls (guard: this
        process; fork: each forked process; pool: the helper the workers
        are forked from). A non-zero return, or a crash, ends the run with exit
        status 2 and one line, e.g. "init 'setup' returned 7" or
        "init 'setup' crashed: SIGSEGV at 0x0", and nothing on stdout.

        Strategies:
          pool   (default) supervised worker processes. A crash fails exactly
                 its input, the worker is replaced, and no timeout is needed
                 to notice a death.
          fork   one fresh child process per call.
          guard  in this process, with signal handlers and siglongjmp. Fast
                 but unsafe: a fault in a thread the callee started, a fault
                 with the signal blocked, exit(), or a callee that installs
                 its own signal handlers ends this process as it would have
                 (no further output); an infinite loop hangs it (--timeout is
                 not available); a callee that closes descriptors can take
                 the output with it (exit status 74).
        --signature and --init work with every strategy. The pool calls init
        once in its helper process before forking the workers, so every
        worker starts with the state init set up; fork calls it in each
        forked process before the call (with --timeout, init and call share
        the deadline); guard calls it once in this process.

        Exit status: 0 when every input got an outcome (crashes are
        outcomes); 2 for a usage error, a malformed or unknown signature, an
        unloadable library, a missing symbol or init symbol, a failed init,
        or a malformed input (one line on stderr naming the input, e.g.
        "input 3:" or "line 7 of standard input:", quoting at most 80
        characters of it; nothing on stdout and no call made, except that
        outcomes of standard-input lines before the malformed one stay
        printed); 70 when the run cannot go on (the pool's helper could not be
        started again; what was answered stays printed); 130 or 143 when
        stopped by SIGINT or SIGTERM (workers are killed first); 74 when the
        results cannot be written (standard output closed or unwritable).
        """
    )

    @OptionGroup var options: CallOptions

    func run() throws {
        try options.run { output, chunk in
            let replays = chunk.outcomes.replays
            let extra = options.memoryLimit.map { "\"memory_limit\":\($0)" } ?? ""
            for (index, outcome) in chunk.outcomes.enumerated() {
                output.write(outcome, inputJSON: chunk.inputJSON(index), replay: replays.isEmpty ? nil : replays[index], extra: extra)
            }
        }
    }
}
