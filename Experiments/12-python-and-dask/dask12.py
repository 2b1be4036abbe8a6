#!/usr/bin/env python3
"""Experiment 12: the Python package and faultline.dask, measured.

    dask12.py --budget SECONDS

Measures calls/s and crashes/s through faultline.call, FaultlineExecutor.map,
faultline.dask.map (LocalCluster, 2 worker processes), the plain CLI and
pebble's ProcessPool, with 2 workers each, on the bench's mixes (fl_mixed with
5 % and 25 % faulting) and on an all-faulting input; then what a SIGKILLed Dask
worker costs on a run of slow shards. Needs $FAULTLINE_EXECUTABLE,
$FAULTLINE_VICTIMS and the package on PYTHONPATH. Results are '@tag …' lines
on stdout (one write each); experiment 12 reads them.
"""
import argparse
import json
import os
import signal
import subprocess
import sys
import threading
import time

import faultline

VICTIMS = os.environ["FAULTLINE_VICTIMS"]
EXECUTABLE = faultline.find_executable()
KINDS = [-1, -2, -3, -4, -5, -6, -7]  # fl_mixed: SIGSEGV SIGFPE SIGILL SIGABRT overflow SIGBUS exit(7)


def emit(tag, *fields):
    os.write(1, ("@" + " ".join([tag] + [str(f) for f in fields]) + "\n").encode())


def row(way, mix, **fields):
    emit("row", way, json.dumps(dict(mix=mix, **fields), separators=(",", ":")))


def mixed_inputs(percent, count):
    """The bench's rule (Sources/FaultlineBench/Workloads.swift): input i faults
    when floor((i+1)·f) > floor(i·f), cycling through the kinds; else it is i."""
    fraction = percent / 100
    out, fault = [], 0
    for i in range(count):
        if int((i + 1) * fraction) > int(i * fraction):
            out.append(KINDS[fault % len(KINDS)])
            fault += 1
        else:
            out.append(i % 1000)
    return out


def expected_ok(inputs, outcomes):
    """Every input answered once, in order, returned exactly when it does not fault."""
    if len(outcomes) != len(inputs):
        return False
    for r, o in zip(inputs, outcomes):
        if (r >= 0) != o.ok or (r >= 0 and o.value != r):
            return False
    return True


def timed(function, inputs):
    start = time.monotonic()
    outcomes = function(inputs)
    return time.monotonic() - start, outcomes


def measure(way, function, mixes):
    """One row per mix: calls/s (all inputs) and, for the all-faulting mix, crashes/s."""
    for mix, inputs in mixes:
        try:
            seconds, outcomes = timed(function, inputs)
        except Exception as error:  # reported, not fatal: the other rows still run
            row(way, mix, unavailable=f"failed: {type(error).__name__}: {error}"[:200])
            continue
        crashes = sum(1 for r in inputs if r < 0)
        exact = expected_ok(inputs, outcomes)
        row(way, mix, inputs=len(inputs), faulting=crashes, seconds=seconds,
            calls_per_s=len(inputs) / seconds, crashes_per_s=crashes / seconds if crashes else None,
            exact=exact)


def cli_map(inputs):
    """The plain CLI: inputs on stdin, one JSON line per outcome."""
    data = "".join(f"{r}\n" for r in inputs).encode()
    done = subprocess.run([EXECUTABLE, "call", VICTIMS, "fl_mixed", "--workers", "2"], input=data,
                          stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, timeout=120)
    if done.returncode != 0:
        raise RuntimeError(f"faultline call exited with {done.returncode}")
    lines = done.stdout.splitlines()
    return [faultline._outcomes.parse_outcome(json.loads(line), r) for r, line in zip(inputs, lines)] \
        if len(lines) == len(inputs) else []


_pebble_lib = None


def pebble_call(r):
    global _pebble_lib
    if _pebble_lib is None:
        import ctypes
        _pebble_lib = ctypes.CDLL(VICTIMS)
    return _pebble_lib.fl_mixed(r)


class _PebbleOutcome:
    def __init__(self, ok, value=None):
        self.ok, self.value = ok, value


def pebble_map(inputs):
    from pebble import ProcessPool
    from concurrent.futures import TimeoutError as FuturesTimeout
    outcomes = []
    with ProcessPool(max_workers=2) as pool:
        futures = [pool.schedule(pebble_call, args=(r,)) for r in inputs]
        for future in futures:
            try:
                outcomes.append(_PebbleOutcome(True, future.result(timeout=60)))
            except FuturesTimeout:
                raise
            except Exception:  # ProcessExpired: the worker died (exit(7) included)
                outcomes.append(_PebbleOutcome(False))
        pool.stop()
        pool.join(timeout=10)
    return outcomes


def local_cluster(distributed):
    return distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                    dashboard_address=None, silence_logs=50)


def killed_worker(client, shards, shard_size, kill):
    """fl_slow over `shards` shards; with `kill`, one busy Dask worker is SIGKILLed mid-shard."""
    import faultline.dask as fl_dask
    inputs = [20 + i % 11 for i in range(shards * shard_size)]  # 20–30 ms each
    pids = client.run(os.getpid)
    result = {}

    def run():
        try:
            start = time.monotonic()
            result["outcomes"] = fl_dask.map(client, VICTIMS, "fl_slow", inputs, shard_size=shard_size,
                                                    workers=1)
            result["seconds"] = time.monotonic() - start
        except BaseException as error:
            result["error"] = error

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    victim = None
    if kill:
        deadline = time.monotonic() + 20
        while victim is None and time.monotonic() < deadline and thread.is_alive():
            busy = [a for a, keys in client.processing().items() if keys and a in pids]
            if busy:
                time.sleep(0.15)  # well inside a shard
                victim = busy[0]
                os.kill(pids[victim], signal.SIGKILL)
            else:
                time.sleep(0.01)
    thread.join(timeout=90)
    if thread.is_alive():
        return {"error": "faultline.dask.map did not return within 90 s"}
    if "error" in result:
        return {"error": f"{type(result['error']).__name__}: {result['error']}"[:200]}
    outcomes = result["outcomes"]
    once = len(outcomes) == len(inputs) and all(o.ok and o.value == r and o.input == r
                                                for r, o in zip(inputs, outcomes))
    return {"seconds": result["seconds"], "inputs": len(inputs), "shards": shards,
            "shard_seconds": sum(inputs[:shard_size]) / 1000, "every_outcome_once": once,
            "killed": victim is not None}


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--budget", type=float, default=3)
    options = parser.parse_args()
    scale = max(0.1, options.budget / 3)
    count = max(200, int(2000 * scale))
    crash_count = max(40, int(300 * scale))
    mixes = [("mixed_5", mixed_inputs(5, count)), ("mixed_25", mixed_inputs(25, count)),
             ("all_faulting", [KINDS[i % len(KINDS)] for i in range(crash_count)])]
    emit("python", sys.version.split()[0])

    measure("faultline.call", lambda xs: faultline.call(VICTIMS, "fl_mixed", xs, workers=2,
                                                         stderr=subprocess.DEVNULL), mixes)
    executor = faultline.FaultlineExecutor(VICTIMS, "fl_mixed", workers=2, stderr=subprocess.DEVNULL)
    try:
        measure("FaultlineExecutor.map", executor.map, mixes)
    finally:
        executor.shutdown(wait=True)
    measure("faultline call (CLI)", cli_map, mixes)

    try:
        import pebble  # noqa: F401
        from importlib.metadata import version
        emit("version", "pebble", version("pebble"))
        # pebble replaces a worker process per crash (~50 ms each here): a slice of each mix keeps it bounded.
        measure("pebble ProcessPool", pebble_map, [(mix, inputs[:max(40, len(inputs) // (6 if mix == "all_faulting" else 8))])
                                                   for mix, inputs in mixes])
    except ImportError:
        for mix, _ in mixes:
            row("pebble ProcessPool", mix, unavailable="pebble not installed")

    try:
        import distributed
        import faultline.dask as fl_dask
        from importlib.metadata import version
        emit("version", "dask", version("distributed"))
    except ImportError:
        for mix, _ in mixes:
            row("faultline.dask.map", mix, unavailable="dask not installed")
        emit("killed", json.dumps({"unavailable": "dask not installed"}))
        return
    with local_cluster(distributed) as cluster, distributed.Client(cluster) as client:
        client.wait_for_workers(2, timeout=30)
        shard = max(50, count // 8)
        # faultline.call per shard inside each Dask worker, one call worker each (2 Dask workers)
        measure("faultline.dask.map", lambda xs: fl_dask.map(client, VICTIMS, "fl_mixed", xs,
                                                                     shard_size=shard, workers=1), mixes)
        shards = 16 if options.budget >= 2 else 8
        shard_size = 12
        calm = killed_worker(client, shards, shard_size, kill=False)
        emit("killed", json.dumps({"undisturbed": calm}))
        client.wait_for_workers(2, timeout=30)
        hit = killed_worker(client, shards, shard_size, kill=True)
        emit("killed", json.dumps({"killed": hit}))
    emit("done", "cluster closed")


if __name__ == "__main__":
    main()
