#!/usr/bin/env python3
"""Python peers of the Faultline experiments.

The patterns of Glen Berseth's post "Handling Segfaults in Python that occur
in custom C++ libraries" (2015-05-04), and two later tools, written anew and
run against libFaultlineVictims.so through ctypes.

    peers.py MODE [--workers N] [--timeout SECONDS]

MODE is one of: direct, map, handler, apply_async, executor, pebble.
The library path comes from $FAULTLINE_VICTIMS. Progress and results are
written as '@tag fields...' lines on stdout with one unbuffered write each,
so they survive a crash; experiment 09 reads them. The map and handler modes
never end on their own: run them only under a watchdog (experiment 09 does).
"""
import argparse
import ctypes
import json
import multiprocessing
import os
import signal
import sys
import time

LIBRARY = os.environ.get("FAULTLINE_VICTIMS", "libFaultlineVictims.so")
lib = ctypes.CDLL(LIBRARY)
INPUTS = [1, 2, 3, 4, 5, 4, 3, 2, 1, 10, 2]


def emit(tag, *fields):
    """One '@tag fields' line, written straight to file descriptor 1."""
    os.write(1, ("@" + " ".join([tag] + [str(field) for field in fields]) + "\n").encode())


def metric(key, value):
    emit("metric", key, repr(float(value)))


def record(index, value_in, status, text, seconds, value=None, signal_name=None):
    """A call record with the keys experiment 09 decodes."""
    fields = {"input": value_in, "status": status, "text": text, "seconds": seconds}
    if value is not None:
        fields["value"] = value
    if signal_name is not None:
        fields["signal"] = signal_name
    emit("call", index, json.dumps(fields, separators=(",", ":")))


# Functions the workers run: module level, so every start method finds them.
def victim(r):
    return lib.raise_a_fault(r)


def victim_announced(item):
    index, r = item
    value = lib.raise_a_fault(r)
    emit("result", index, value)
    return value


def identity(r):
    return lib.fl_identity(r)


def null_write(r):
    return lib.fl_null_write(r)


def slow(milliseconds):
    return lib.fl_slow(milliseconds)


def ignore_fault(signum, frame):
    """A SIGSEGV handler that just returns."""
    return None


def mode_direct(options):
    for index, r in enumerate(INPUTS):
        emit("calling", index, r)
        emit("result", index, lib.raise_a_fault(r))


def map_cost(workers):
    pool = multiprocessing.Pool(workers)
    pool.map(identity, range(100))
    started = time.monotonic()
    pool.map(identity, range(2000))
    metric("cost_per_call", (time.monotonic() - started) / 2000)
    pool.terminate()
    pool.join()


def mode_map(options):
    map_cost(options.workers)
    pool = multiprocessing.Pool(options.workers)
    emit("mapping", len(INPUTS))
    results = pool.map(victim_announced, list(enumerate(INPUTS)))
    emit("done", ",".join(str(value) for value in results))


def mode_handler(options):
    signal.signal(signal.SIGSEGV, ignore_fault)
    pool = multiprocessing.Pool(options.workers)
    emit("mapping", len(INPUTS))
    results = pool.map(victim_announced, list(enumerate(INPUTS)))
    emit("done", ",".join(str(value) for value in results))


def mode_apply_async(options):
    timeout = options.timeout
    pool = multiprocessing.Pool(options.workers)
    started_list = time.monotonic()
    for index, r in enumerate(INPUTS):
        started = time.monotonic()
        try:
            value = pool.apply_async(victim, (r,)).get(timeout=timeout)
            record(index, r, "returned", "returned %d" % value, time.monotonic() - started, value=value)
        except multiprocessing.TimeoutError:
            seconds = time.monotonic() - started
            record(index, r, "failed", "TimeoutError after %.3f s" % seconds, seconds)
    metric("blog_total", time.monotonic() - started_list)

    milliseconds = int(timeout * 2000)
    metric("slow_input", milliseconds)
    started = time.monotonic()
    pending = pool.apply_async(slow, (milliseconds,))
    try:
        pending.get(timeout=timeout)
        metric("slow_reported_failed", 0)
    except multiprocessing.TimeoutError:
        metric("slow_reported_failed", 1)
    metric("slow_reported_at", time.monotonic() - started)
    try:
        metric("slow_value", pending.get(timeout=timeout * 4))
        metric("slow_returned_at", time.monotonic() - started)
    except multiprocessing.TimeoutError:
        pass

    for index in range(10):
        pool.apply_async(identity, (index,)).get(timeout=timeout)
    started = time.monotonic()
    for index in range(300):
        pool.apply_async(identity, (index,)).get(timeout=timeout)
    metric("cost_per_call", (time.monotonic() - started) / 300)
    pool.terminate()
    pool.join()


def resolve(futures, started, describe):
    """Waits for each future in input order; records when each one settled."""
    settled = {}
    for index, future in enumerate(futures):
        future.add_done_callback(lambda _, index=index: settled.setdefault(index, time.monotonic()))
    for index, (r, future) in enumerate(zip(INPUTS, futures)):
        try:
            value = future.result()
            seconds = settled.get(index, time.monotonic()) - started
            record(index, r, "returned", "returned %d" % value, seconds, value=value)
        except Exception as error:  # the pool's way of saying "it crashed"
            seconds = settled.get(index, time.monotonic()) - started
            status, text, signal_name = describe(error)
            record(index, r, status, text, seconds, signal_name=signal_name)


def mode_executor(options):
    from concurrent.futures import ProcessPoolExecutor

    with ProcessPoolExecutor(max_workers=options.workers) as executor:
        list(executor.map(identity, range(100)))
        started = time.monotonic()
        list(executor.map(identity, range(2000)))
        metric("cost_per_call", (time.monotonic() - started) / 2000)

    executor = ProcessPoolExecutor(max_workers=options.workers)
    executor.submit(identity, 0).result()
    started = time.monotonic()
    futures = [executor.submit(victim, r) for r in INPUTS]
    resolve(futures, started, lambda error: ("failed", type(error).__name__, None))
    metric("blog_total", time.monotonic() - started)
    try:
        executor.submit(identity, 1).result()
        metric("usable_after", 1)
    except Exception as error:
        emit("note", "after the crash, submit() raises", type(error).__name__)
        metric("usable_after", 0)
    executor.shutdown(wait=False, cancel_futures=True)

    crashes = []
    for _ in range(5):
        fresh = ProcessPoolExecutor(max_workers=options.workers)
        fresh.submit(identity, 0).result()
        started = time.monotonic()
        try:
            fresh.submit(null_write, 1).result()
        except Exception:
            crashes.append(time.monotonic() - started)
        fresh.shutdown(wait=True)
    metric("cost_per_crash", sum(crashes) / max(1, len(crashes)))


def mode_pebble(options):
    try:
        import pebble
        from pebble import ProcessExpired, ProcessPool
    except ImportError as error:
        emit("unavailable", "import pebble failed:", error)
        return
    try:
        from importlib.metadata import version
        emit("version", version("pebble"))
    except Exception:
        pass

    def describe(error):
        if isinstance(error, ProcessExpired):
            code = error.exitcode
            name = signal.Signals(-code).name if code is not None and code < 0 else None
            return ("crashed" if name else "failed"), "ProcessExpired, exit code %s" % code, name
        return "failed", type(error).__name__, None

    with ProcessPool(max_workers=options.workers) as pool:
        for future in [pool.schedule(identity, args=[index]) for index in range(20)]:
            future.result()
        started = time.monotonic()
        futures = [pool.schedule(victim, args=[r]) for r in INPUTS]
        resolve(futures, started, describe)
        metric("blog_total", time.monotonic() - started)

        started = time.monotonic()
        futures = [pool.schedule(identity, args=[index]) for index in range(300)]
        for future in futures:
            future.result()
        metric("cost_per_call", (time.monotonic() - started) / 300)

        crashes = []
        for _ in range(10):
            started = time.monotonic()
            try:
                pool.schedule(null_write, args=[1]).result()
            except ProcessExpired:
                crashes.append(time.monotonic() - started)
        metric("cost_per_crash", sum(crashes) / max(1, len(crashes)))
        metric("usable_after", 1 if pool.schedule(identity, args=[7]).result() == 7 else 0)
        pool.stop()
        pool.join()


MODES = {
    "direct": mode_direct,
    "map": mode_map,
    "handler": mode_handler,
    "apply_async": mode_apply_async,
    "executor": mode_executor,
    "pebble": mode_pebble,
}


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("mode", choices=sorted(MODES))
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--timeout", type=float, default=0.25)
    options = parser.parse_args()
    emit("python", sys.version.split()[0], multiprocessing.get_start_method())
    MODES[options.mode](options)
    emit("finished", options.mode)


if __name__ == "__main__":
    main()
