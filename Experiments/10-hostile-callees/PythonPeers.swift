#if canImport(Glibc)
import Glibc
#endif
import ExperimentKit

/// The Python peers of experiment 10, as the source of a script the
/// experiment writes to a temporary file and runs with python3 (kept here,
/// in Swift, so that the experiment is one target with nothing to exclude).
///
/// `MODE --workers N --inputs I,I,…` calls `$FAULTLINE_HOSTILE_SYMBOL` from
/// `$FAULTLINE_VICTIMS` through ctypes, once per input, in
/// `multiprocessing.Pool.map` (`map`), `concurrent.futures.ProcessPoolExecutor`
/// (`executor`) or `pebble.ProcessPool` (`pebble`), the ways experiment 09
/// uses them, and writes the records experiment 10 decodes.
enum PythonPeers {
    /// The script.
    static let source = #"""
"""Python peers of Faultline's experiment 10 (hostile callees).

    hostile_peers.py MODE --workers N --inputs I,I,...

MODE: map (multiprocessing.Pool.map), executor (ProcessPoolExecutor) or pebble
(pebble.ProcessPool). The function is $FAULTLINE_HOSTILE_SYMBOL of
$FAULTLINE_VICTIMS, int f(int) through ctypes. Each answer is an
'@call INDEX JSON' line written with one os.write, then '@answered'.
"""
import argparse
import ctypes
import json
import os
import signal

LIBRARY = ctypes.CDLL(os.environ["FAULTLINE_VICTIMS"])
FUNCTION = getattr(LIBRARY, os.environ["FAULTLINE_HOSTILE_SYMBOL"])
FUNCTION.argtypes = [ctypes.c_int]
FUNCTION.restype = ctypes.c_int


def call(r):
    return FUNCTION(r)


def emit(tag, *fields):
    os.write(1, ("@" + " ".join([tag] + [str(field) for field in fields]) + "\n").encode())


def record(index, r, status, text, value=None, signal_name=None):
    fields = {"input": r, "status": status, "text": text}
    if value is not None:
        fields["value"] = value
    if signal_name is not None:
        fields["signal"] = signal_name
    emit("call", index, json.dumps(fields, separators=(",", ":")))


def returned(index, r, value):
    record(index, r, "returned", "returned %d" % value, value=value)


def mode_map(inputs, workers):
    import multiprocessing

    pool = multiprocessing.Pool(workers)
    values = pool.map(call, inputs)
    for index, (r, value) in enumerate(zip(inputs, values)):
        returned(index, r, value)
    emit("answered")
    pool.terminate()
    pool.join()


def submit_all(schedule, inputs):
    """A future per input, or the exception that submitting it raised (a broken pool refuses more work)."""
    futures = []
    for r in inputs:
        try:
            futures.append(schedule(r))
        except Exception as error:
            futures.append(error)
    return futures


def mode_executor(inputs, workers):
    from concurrent.futures import ProcessPoolExecutor

    executor = ProcessPoolExecutor(max_workers=workers)
    futures = submit_all(lambda r: executor.submit(call, r), inputs)
    for index, (r, future) in enumerate(zip(inputs, futures)):
        try:
            if isinstance(future, Exception):
                raise future
            returned(index, r, future.result())
        except Exception as error:
            record(index, r, "failed", type(error).__name__)
    emit("answered")
    executor.shutdown(wait=False, cancel_futures=True)


def mode_pebble(inputs, workers):
    try:
        from pebble import ProcessExpired, ProcessPool
    except ImportError:
        emit("unavailable", "pebble not installed")
        return
    with ProcessPool(max_workers=workers) as pool:
        futures = submit_all(lambda r: pool.schedule(call, args=[r]), inputs)
        for index, (r, future) in enumerate(zip(inputs, futures)):
            try:
                if isinstance(future, Exception):
                    raise future
                returned(index, r, future.result())
            except ProcessExpired as error:
                code = error.exitcode
                if code is not None and code < 0:
                    try:
                        name = signal.Signals(-code).name
                    except ValueError:
                        name = "SIG%d" % -code
                    record(index, r, "crashed", "signaled %s" % name, signal_name=name)
                else:
                    record(index, r, "crashed", "exited %s" % code)
            except Exception as error:
                record(index, r, "failed", type(error).__name__)
        emit("answered")


MODES = {"map": mode_map, "executor": mode_executor, "pebble": mode_pebble}


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("mode", choices=sorted(MODES))
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--inputs", required=True)
    options = parser.parse_args()
    inputs = [int(word) for word in options.inputs.split(",")]
    emit("calling", len(inputs))
    MODES[options.mode](inputs, options.workers)


if __name__ == "__main__":
    main()
"""#

    /// The first `name` on $PATH that is executable.
    static func findOnPath(_ name: String) -> String? {
        let path = getenv("PATH").map { String(cString: $0) } ?? "/usr/bin:/bin"
        return path.split(separator: ":").map { "\($0)/\(name)" }.first { access($0, X_OK) == 0 }
    }

    /// Writes the script into a fresh temporary folder; returns its path.
    static func writeScript() throws -> String {
        var template = Array("/tmp/faultline-hostile-XXXXXX".utf8CString)
        guard let made = mkdtemp(&template) else { throw UsageError("mkdtemp failed: \(String(cString: strerror(errno)))") }
        let path = String(cString: made) + "/hostile_peers.py"
        try Files.write(source, to: path)
        return path
    }

    /// Removes what ``writeScript()`` made.
    static func removeScript(_ path: String) {
        unlink(path)
        rmdir(String(path[..<(path.lastIndex(of: "/") ?? path.endIndex)]))
    }
}
