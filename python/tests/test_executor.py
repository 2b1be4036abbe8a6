"""FaultlineExecutor: the write-up's Pool.map program, made to work."""
import concurrent.futures
import subprocess
import time

import pytest

import faultline
from faultline import Exited, FaultlineExecutor, Returned, Signaled

from conftest import VICTIMS, faultline_processes

WRITEUP_INPUTS = [1, 2, 3, 4, 5, 4, 3, 2, 1, 10, 2]


def expected(r):
    return Returned(r) if r <= 3 else Signaled("SIGSEGV", "0x0")


def check_writeup_outcomes(outcomes):
    assert outcomes == [expected(r) for r in WRITEUP_INPUTS]
    assert [o.input for o in outcomes] == WRITEUP_INPUTS
    for outcome in outcomes:
        if isinstance(outcome, Signaled):
            assert any(frame.startswith(("raise_a_fault+", "raise_a_fault (")) for frame in outcome.backtrace)


@pytest.mark.parametrize("workers", [1, 2])
def test_map_survives_the_writeup_inputs(workers):
    started = time.monotonic()
    with FaultlineExecutor(VICTIMS, "raise_a_fault", workers=workers, stderr=subprocess.DEVNULL) as executor:
        outcomes = executor.map(WRITEUP_INPUTS)
    check_writeup_outcomes(outcomes)
    assert time.monotonic() - started < 10
    assert faultline_processes() == []


def test_submit_resolves_each_future_with_its_outcome():
    with FaultlineExecutor(VICTIMS, "raise_a_fault", stderr=subprocess.DEVNULL) as executor:
        futures = [executor.submit(r) for r in WRITEUP_INPUTS]
        outcomes = [future.result(timeout=20) for future in futures]
        assert all(future.exception() is None for future in futures)
    check_writeup_outcomes(outcomes)


def test_submit_with_as_completed_and_other_kinds():
    with FaultlineExecutor(VICTIMS, "fl_mixed", workers=2) as executor:
        futures = {executor.submit(r): r for r in [0, -1, -7, 9, -2]}
        got = {futures[f]: f.result() for f in concurrent.futures.as_completed(futures, timeout=20)}
    assert got[0] == Returned(0) and got[9] == Returned(9)
    assert got[-1].signal == "SIGSEGV" and got[-2].signal == "SIGFPE"
    assert got[-7] == Exited(7)


def test_command_failures_are_the_futures_exceptions():
    with FaultlineExecutor(VICTIMS, "no_such_symbol") as executor:
        future = executor.submit(1)
        with pytest.raises(faultline.FaultlineUsageError, match="no_such_symbol"):
            future.result(timeout=20)
        with pytest.raises(faultline.FaultlineUsageError):
            executor.map([1, 2])


def test_submit_after_a_failed_run_still_works():
    with FaultlineExecutor(VICTIMS, "fl_identity") as executor:
        bad = executor.submit("abc")
        with pytest.raises(faultline.FaultlineUsageError, match="malformed input"):
            bad.result(timeout=20)
        assert executor.submit(5).result(timeout=20) == Returned(5)


def test_shutdown_waits_and_refuses_new_work():
    executor = FaultlineExecutor(VICTIMS, "fl_slow", workers=1)
    futures = [executor.submit(50) for _ in range(4)]
    executor.shutdown(wait=True)
    assert all(f.done() for f in futures)
    assert [f.result() for f in futures] == [Returned(50)] * 4
    assert faultline_processes() == []
    with pytest.raises(RuntimeError):
        executor.submit(1)


def test_shutdown_cancel_futures():
    executor = FaultlineExecutor(VICTIMS, "fl_slow", workers=1)
    first = executor.submit(300)
    time.sleep(0.1)  # the first run has started; the rest wait for the next one
    rest = [executor.submit(300) for _ in range(5)]
    executor.shutdown(wait=True, cancel_futures=True)
    assert first.result() == Returned(300)
    assert all(f.cancelled() for f in rest)


def test_executor_needs_an_executable():
    with pytest.raises(faultline.FaultlineNotFoundError):
        FaultlineExecutor(VICTIMS, "fl_identity", executable="/nonexistent/faultline")


def test_shutdown_waits_for_a_map_running_in_another_thread():
    import threading
    executor = FaultlineExecutor(VICTIMS, "fl_slow", workers=1)
    result = {}
    mapper = threading.Thread(target=lambda: result.setdefault("outcomes", executor.map([400, 1])))
    mapper.start()
    deadline = time.monotonic() + 10
    while not faultline_processes() and time.monotonic() < deadline:
        time.sleep(0.01)
    executor.shutdown(wait=True)
    assert result.get("outcomes") == [Returned(400), Returned(1)]
    assert faultline_processes() == []
    mapper.join(timeout=10)
