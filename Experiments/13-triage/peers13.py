#!/usr/bin/env python3
"""Python peer of experiment 13: the record parser through pebble.

    peers13.py

A pebble ProcessPool maps parse_record (called through ctypes) over the
inputs, one per line in the file $FAULTLINE_INPUTS, with pebble's default
chunksize of 1, so that a crash costs only its own input. The library comes
from $FAULTLINE_BUGS. Results are '@tag fields' lines on stdout, one
unbuffered write each: '@failed INDEX TEXT' for every input pebble reports as
failed, with exactly what pebble says (the exception's type and text, and
the exit code it carries), '@returned COUNT' (so far) every 500 inputs, and
at the end '@returned COUNT', '@metric seconds S' and '@done'.
"""
import ctypes
import os
import sys
import time

LIBRARY = os.environ.get("FAULTLINE_BUGS", "libFaultlineBugs.so")
WORKERS = int(os.environ.get("FAULTLINE_WORKERS", "2"))


def emit(tag, *fields):
    os.write(1, ("@" + " ".join([tag] + [str(field) for field in fields]) + "\n").encode())


WORKER_LIB = None


def worker_init():
    global WORKER_LIB
    WORKER_LIB = ctypes.CDLL(LIBRARY)
    WORKER_LIB.parse_record.argtypes = [ctypes.c_int32]
    WORKER_LIB.parse_record.restype = ctypes.c_int32


def parse(value):
    return WORKER_LIB.parse_record(value)


def main():
    try:
        from pebble import ProcessPool
    except Exception as error:  # ImportError, or a broken installation
        emit("unavailable", "import pebble failed:", error)
        return 0
    from importlib.metadata import version
    emit("version", version("pebble"))
    with open(os.environ["FAULTLINE_INPUTS"]) as lines:
        inputs = [int(line) for line in lines if line.strip()]
    returned = 0
    start = time.perf_counter()
    with ProcessPool(max_workers=WORKERS, initializer=worker_init) as pool:
        results = pool.map(parse, inputs).result()
        for index in range(len(inputs)):
            if index % 500 == 0:
                emit("returned", returned)
            try:
                next(results)
                returned += 1
            except StopIteration:
                emit("error", "results ended at input", index)
                break
            except Exception as error:
                code = getattr(error, "exitcode", None)
                text = "%s: %s" % (type(error).__name__, error)
                emit("failed", index, text + ("" if code is None else " (exitcode %d)" % code))
    emit("returned", returned)
    emit("metric", "seconds", repr(time.perf_counter() - start))
    emit("done")
    return 0


if __name__ == "__main__":
    sys.exit(main())
