#!/usr/bin/env python3
"""Python peers of experiment 11: the simulator library through ctypes.

    peers11.py MODE

MODE is `ctypes` (direct calls with argtypes/restype, after the per-call
costs of the three cost workloads) or `pebble` (a pebble ProcessPool whose
workers call fl_sim_init first). The library path comes from
$FAULTLINE_SIMULATOR; the programs to run, as a JSON list of
[program, steps], from $FAULTLINE_PROGRAMS. Results are '@tag fields' lines
on stdout, one unbuffered write each, so they survive a crash.
"""
import ctypes
import json
import os
import sys
import time

LIBRARY = os.environ.get("FAULTLINE_SIMULATOR", "libFaultlineSimulator.so")
PROGRAMS = json.loads(os.environ.get("FAULTLINE_PROGRAMS", "[]"))
OUT_CAPACITY = 64


def emit(tag, *fields):
    os.write(1, ("@" + " ".join([tag] + [str(field) for field in fields]) + "\n").encode())


def load():
    lib = ctypes.CDLL(LIBRARY)
    lib.fl_sim_init.argtypes = []
    lib.fl_sim_init.restype = ctypes.c_int
    lib.fl_sim_run.argtypes = [ctypes.c_char_p, ctypes.c_double, ctypes.c_void_p, ctypes.c_size_t]
    lib.fl_sim_run.restype = ctypes.c_int32
    lib.fl_sim_rate.argtypes = [ctypes.c_double, ctypes.c_double]
    lib.fl_sim_rate.restype = ctypes.c_double
    lib.fl_sim_tokens.argtypes = [ctypes.c_char_p]
    lib.fl_sim_tokens.restype = ctypes.c_int32
    lib.fl_sim_checksum.argtypes = [ctypes.c_char_p, ctypes.c_size_t]
    lib.fl_sim_checksum.restype = ctypes.c_int64
    return lib


def run(lib, program, steps):
    out = ctypes.create_string_buffer(OUT_CAPACITY)
    value = lib.fl_sim_run(program.encode(), steps, out, OUT_CAPACITY)
    return "returned %d, out %s" % (value, json.dumps(out.value.decode(errors="replace")))


def per_call(function, count):
    start = time.perf_counter()
    for _ in range(count):
        function()
    return (time.perf_counter() - start) / count


def mode_ctypes():
    lib = load()
    if lib.fl_sim_init() != 0:
        emit("error", "fl_sim_init failed")
        return 1
    text = b"A+B>C:2;" * 12 + b"A+B>"  # 100 bytes
    buffer = bytes(1 << 20)
    emit("metric", "rate", repr(per_call(lambda: lib.fl_sim_rate(300.0, 5e4), 20000)))
    emit("metric", "tokens", repr(per_call(lambda: lib.fl_sim_tokens(text), 20000)))
    emit("metric", "checksum", repr(per_call(lambda: lib.fl_sim_checksum(buffer, len(buffer)), 20)))
    for index, (program, steps) in enumerate(PROGRAMS):
        emit("calling", index)
        emit("result", index, run(lib, program, steps))
    return 0


WORKER_LIB = None


def worker_init():
    global WORKER_LIB
    WORKER_LIB = load()
    if WORKER_LIB.fl_sim_init() != 0:
        raise RuntimeError("fl_sim_init failed")


def worker_run(program, steps):
    return run(WORKER_LIB, program, steps)


def mode_pebble():
    try:
        from pebble import ProcessExpired, ProcessPool
    except Exception as error:  # ImportError, or a broken installation
        emit("unavailable", "import pebble failed:", error)
        return 0
    from importlib.metadata import version
    emit("version", version("pebble"))
    import signal
    names = {signal.Signals(n).value: signal.Signals(n).name for n in signal.Signals}
    with ProcessPool(max_workers=2, initializer=worker_init) as pool:
        futures = [pool.schedule(worker_run, args=(program, steps)) for program, steps in PROGRAMS]
        for index, future in enumerate(futures):
            try:
                emit("result", index, future.result(timeout=30))
            except ProcessExpired as error:
                code = error.exitcode
                emit("result", index, "ProcessExpired: %s" % (names.get(-code, "exit code %d" % code) if code < 0 else "exit code %d" % code))
            except Exception as error:
                emit("result", index, "%s: %s" % (type(error).__name__, error))
    return 0


if __name__ == "__main__":
    sys.exit({"ctypes": mode_ctypes, "pebble": mode_pebble}[sys.argv[1]]())
