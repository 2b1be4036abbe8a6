#if canImport(Glibc)
import Glibc
#endif
import ExperimentKit
import Faultline
import FaultlineHarness
import Foundation

/// The pebble column: one python3 process per cell calls the same victim
/// through ctypes in a `pebble.ProcessPool` of one worker (with the cell's
/// deadline as pebble's `timeout`) and prints one JSON line. Its main process
/// counts the SIGUSR2 it receives (a handler, so that the signal cannot end
/// the caller) and reads the sibling's `TracerPid` while its worker lives.
struct PebblePeer {
    /// The script.
    static let source = #"""
"""Experiment 14's pebble peer: one call of a victim in a pebble ProcessPool.

    peer14.py SPEC

SPEC is JSON: {"symbol": NAME, "args": [[KIND, VALUE], ...], "timeout": SECONDS,
"sibling": PID or null}; KIND is "int" (int32), "string" (const char *) or
"out" (a zero-filled buffer of VALUE bytes, passed with its size). The
function is SPEC's symbol of $FAULTLINE_VICTIMS, returning int32. Prints one
JSON line: status (returned, timeout, expired, error), value, out, exitcode,
error, seconds, usr2 (SIGUSR2 this process received), tracer (the sibling's
TracerPid, read while the worker lives).
"""
import ctypes
import json
import os
import signal
import sys
import time
from concurrent.futures import TimeoutError as FuturesTimeout

RECEIVED = []


def call(spec):
    function = getattr(ctypes.CDLL(os.environ["FAULTLINE_VICTIMS"]), spec["symbol"])
    function.restype = ctypes.c_int32
    arguments, buffers = [], []
    for kind, value in spec["args"]:
        if kind == "int":
            arguments.append(ctypes.c_int32(value))
        elif kind == "string":
            arguments.append(ctypes.c_char_p(value.encode()))
        else:
            buffer = ctypes.create_string_buffer(value)
            buffers.append(buffer)
            arguments += [buffer, ctypes.c_size_t(value)]
    value = function(*arguments)
    return value, [buffer.value.decode("utf-8", "replace") for buffer in buffers]


def tracer_of(pid):
    try:
        with open("/proc/%d/status" % pid) as status:
            for line in status:
                if line.startswith("TracerPid:"):
                    return int(line.split()[1])
    except OSError:
        return None


def main():
    spec = json.loads(sys.argv[1])
    signal.signal(signal.SIGUSR2, lambda signo, frame: RECEIVED.append(signo))
    try:
        from pebble import ProcessExpired, ProcessPool
    except ImportError:
        print(json.dumps({"status": "unavailable", "error": "pebble not installed"}), flush=True)
        return
    answer = {}
    started = time.monotonic()
    with ProcessPool(max_workers=1) as pool:
        future = pool.schedule(call, args=[spec], timeout=spec["timeout"])
        try:
            value, outs = future.result()
            answer.update(status="returned", value=value, out=outs[0] if outs else None)
        except (TimeoutError, FuturesTimeout):
            answer.update(status="timeout", error="TimeoutError")
        except ProcessExpired as error:
            answer.update(status="expired", error="ProcessExpired", exitcode=error.exitcode)
        except Exception as error:
            answer.update(status="error", error="%s: %s" % (type(error).__name__, str(error)[:80]))
        answer["seconds"] = time.monotonic() - started
        if spec.get("sibling"):
            answer["tracer"] = tracer_of(spec["sibling"])
        time.sleep(0.05)  # a signal sent to this process has been handled by now
        answer["usr2"] = len(RECEIVED)
        print(json.dumps(answer), flush=True)
        pool.stop()


if __name__ == "__main__":
    main()
"""#

    /// python3, the script's path, and why pebble cannot be used (nil when it can).
    var python: String
    var script: String
    var unavailable: String?

    /// Finds python3 and pebble, and writes the script into `folder`.
    static func make(in folder: String) throws -> PebblePeer {
        var path = "/usr/bin:/bin"
        if let value = getenv("PATH") { path = String(cString: value) }
        guard let python = path.split(separator: ":").map({ (entry: Substring) -> String in entry + "/python3" }).first(where: { access($0, X_OK) == 0 }) else {
            return PebblePeer(python: "", script: "", unavailable: "python3 not found")
        }
        let script = folder + "/peer14.py"
        try Files.write(source, to: script)
        let probe = try? ChildProcess.run(python, ["-c", "import pebble"], timeout: 20)
        let missing = probe?.status == .exitCode(0) ? nil : "pebble not installed (scripts/setup --peers)"
        return PebblePeer(python: python, script: script, unavailable: missing)
    }

    /// The peer's answer as an ``Attempt`` (its text says what pebble said).
    func decode(_ output: String) -> Attempt {
        struct Answer: Decodable {
            var status: String
            var value: Int32?
            var out: String?
            var exitcode: Int?
            var error: String?
            var seconds: Double?
            var usr2: Int?
            var tracer: Int32?
        }
        guard let line = output.split(separator: "\n").last(where: { $0.hasPrefix("{") }),
              let answer = try? JSONDecoder().decode(Answer.self, from: Data(line.utf8)) else { return Attempt() }
        var attempt = Attempt(seconds: answer.seconds ?? 0, tracer: answer.tracer)
        switch answer.status {
        case "returned":
            attempt.value = answer.value
            attempt.out = answer.out
            let value = answer.value ?? 0
            attempt.text = "returned \(value)" + errnoSuffix(Int64(value))
        case "timeout":
            attempt.text = "TimeoutError after \(Format.seconds(answer.seconds ?? 0))"
        case "expired":
            let code = answer.exitcode ?? 0
            attempt.text = "ProcessExpired (" + (code < 0 ? "signal \(Signal(rawValue: Int32(-code)).name)" : "exit \(code)") + ")"
        case "unavailable":
            attempt.unavailable = answer.error ?? "pebble not installed"
        default:
            attempt.text = answer.error ?? answer.status
        }
        if let received = answer.usr2 {
            attempt.parentSignalled = received > 0
            attempt.parentNote = "its parent (the Python caller) got " + count(received, "SIGUSR2")
        }
        return attempt
    }
}
