"""faultline.call / faultline.stream against the victims library."""
import gc
import itertools
import math
import os
import signal
import subprocess
import sys
import threading
import time

import pytest

import faultline
from faultline import Exited, Returned, Signaled, TimedOut
from faultline._run import encode_input

from conftest import EXECUTABLE, VICTIMS, cli_supports, faultline_processes

QUIET = {"stderr": subprocess.DEVNULL}


def assert_segv_in_raise_a_fault(outcome, input):
    assert isinstance(outcome, Signaled), outcome
    assert outcome.signal == "SIGSEGV" and outcome.signo == 11
    assert outcome.address == "0x0"
    assert any(frame.startswith(("raise_a_fault+", "raise_a_fault (")) for frame in outcome.backtrace), outcome.backtrace
    assert any(f.symbol == "raise_a_fault" for f in outcome.frames)
    assert outcome.input == input and outcome.kind == "signaled" and not outcome.ok


@pytest.mark.parametrize("strategy", ["pool", "fork", "guard"])
def test_returned_and_signaled_for_each_strategy(strategy):
    outcomes = faultline.call(VICTIMS, "raise_a_fault", [3, 4, -2, 10], strategy=strategy, **QUIET)
    assert len(outcomes) == 4
    assert outcomes[0] == Returned(3) and outcomes[0].input == 3 and outcomes[0].ok
    assert outcomes[2] == Returned(-2) and outcomes[2].value == -2
    assert_segv_in_raise_a_fault(outcomes[1], 4)
    assert_segv_in_raise_a_fault(outcomes[3], 10)
    assert outcomes[1] == Signaled("SIGSEGV", "0x0")


@pytest.mark.parametrize("strategy", ["pool", "fork"])
def test_exited(strategy):
    outcomes = faultline.call(VICTIMS, "fl_exit", [100, 0], strategy=strategy, workers=1)
    assert outcomes == [Exited(100), Exited(0)]
    assert [o.input for o in outcomes] == [100, 0]


def test_other_signals_from_the_mixed_victim():
    outcomes = faultline.call(VICTIMS, "fl_mixed", [5, -1, -2, -4, -7], workers=2)
    assert outcomes[0] == Returned(5)
    assert [o.signal for o in outcomes[1:4]] == ["SIGSEGV", "SIGFPE", "SIGABRT"]
    assert outcomes[4] == Exited(7)


@pytest.mark.parametrize("strategy", ["pool", "fork"])
def test_timed_out(strategy):
    started = time.monotonic()
    outcomes = faultline.call(VICTIMS, "fl_infinite_loop", [42], strategy=strategy, timeout=0.5)
    elapsed = time.monotonic() - started
    assert len(outcomes) == 1 and isinstance(outcomes[0], TimedOut), outcomes
    assert 0.5 <= outcomes[0].seconds < 5 and outcomes[0].input == 42
    assert elapsed < 10


def test_callee_output_is_forwarded_not_mixed_into_outcomes(tmp_path):
    sink = open(tmp_path / "err.txt", "w")
    outcomes = faultline.call(VICTIMS, "raise_a_fault", [1, 2], stderr=sink)
    sink.close()
    assert outcomes == [Returned(1), Returned(2)]
    text = (tmp_path / "err.txt").read_text()
    assert "r is 1" in text and "r is 2" in text


def test_many_inputs_in_order():
    inputs = list(range(-5000, 15000))
    outcomes = faultline.call(VICTIMS, "fl_identity", inputs)
    assert [o.value for o in outcomes] == inputs
    assert all(o.input == i for o, i in zip(outcomes, inputs))


# ---- errors --------------------------------------------------------------------

def test_missing_library_is_a_usage_error():
    with pytest.raises(faultline.FaultlineUsageError) as info:
        faultline.call("/nonexistent/libNope.so", "f", [1])
    assert info.value.status == 2
    assert "cannot load library '/nonexistent/libNope.so'" in info.value.message
    assert not str(info.value).startswith("faultline:")


def test_missing_symbol_is_a_usage_error():
    with pytest.raises(faultline.FaultlineUsageError) as info:
        faultline.call(VICTIMS, "no_such_symbol", [1])
    assert str(info.value) == f"symbol 'no_such_symbol' not found in '{VICTIMS}'"


def test_malformed_input_is_a_usage_error_after_the_good_outcomes():
    seen = []
    with pytest.raises(faultline.FaultlineUsageError) as info:
        for outcome in faultline.stream(VICTIMS, "fl_identity", [1, "abc", 3]):
            seen.append(outcome)
    assert "line 2 of standard input: malformed input" in info.value.message
    assert seen == [] or seen == [Returned(1)]
    assert isinstance(info.value, ValueError)


def test_bad_option_is_a_usage_error():
    with pytest.raises(faultline.FaultlineUsageError) as info:
        faultline.call(VICTIMS, "fl_identity", [1], workers=0)
    assert "--workers" in info.value.message


def test_missing_executable(monkeypatch):
    with pytest.raises(faultline.FaultlineNotFoundError) as info:
        faultline.call(VICTIMS, "fl_identity", [1], executable="/nonexistent/faultline")
    assert "/nonexistent/faultline" in str(info.value)
    monkeypatch.delenv("FAULTLINE_EXECUTABLE")
    monkeypatch.setenv("PATH", "/nonexistent")
    with pytest.raises(FileNotFoundError, match="FAULTLINE_EXECUTABLE"):
        faultline.stream(VICTIMS, "fl_identity", [1])


def test_executable_from_path(monkeypatch, tmp_path):
    (tmp_path / "faultline").symlink_to(EXECUTABLE)
    monkeypatch.delenv("FAULTLINE_EXECUTABLE")
    monkeypatch.setenv("PATH", str(tmp_path))
    assert faultline.find_executable() == str(tmp_path / "faultline")
    assert faultline.call(VICTIMS, "fl_identity", [7]) == [Returned(7)]


def test_the_process_dying_ends_the_generator_with_its_status():
    # Under the guard, exit() ends the command itself: no outcome for 5, and its status.
    with pytest.raises(faultline.FaultlineError) as info:
        faultline.call(VICTIMS, "fl_exit", [5], strategy="guard")
    assert info.value.status == 5 and not isinstance(info.value, faultline.FaultlineUsageError)


def test_a_status_0_without_every_outcome_is_an_error():
    with pytest.raises(faultline.FaultlineError, match="0 outcomes for 2 inputs"):
        faultline.call(VICTIMS, "fl_exit_zero", [1, 2], strategy="guard")


def test_an_input_iterator_that_fails_raises_its_error():
    def inputs():
        yield 1
        raise KeyError("from the iterator")
    with pytest.raises(KeyError, match="from the iterator"):
        faultline.call(VICTIMS, "fl_identity", inputs())


# ---- streaming -----------------------------------------------------------------

def test_first_outcome_arrives_before_the_inputs_are_exhausted():
    first_seen = threading.Event()
    waited = []

    def inputs():
        yield 1
        waited.append(first_seen.wait(timeout=15))
        yield 4
        yield 2

    outcomes = []
    for outcome in faultline.stream(VICTIMS, "raise_a_fault", inputs(), **QUIET):
        outcomes.append(outcome)
        first_seen.set()
    assert waited == [True], "the first outcome did not arrive while the iterator was blocked"
    assert outcomes[0] == Returned(1) and outcomes[2] == Returned(2)
    assert_segv_in_raise_a_fault(outcomes[1], 4)


def test_unbounded_inputs_closed_early_end_the_process():
    generator = faultline.stream(VICTIMS, "fl_identity", itertools.count())
    taken = list(itertools.islice(generator, 1000))
    assert [o.value for o in taken] == list(range(1000))
    assert faultline_processes(), "the command should still be running"
    generator.close()
    assert faultline_processes() == []


def test_dropped_generator_ends_the_process():
    generator = faultline.stream(VICTIMS, "fl_identity", itertools.repeat(1))
    assert next(generator) == Returned(1)
    del generator
    gc.collect()
    assert faultline_processes() == []


def test_consumer_exception_ends_the_process():
    with pytest.raises(RuntimeError):
        for outcome in faultline.stream(VICTIMS, "fl_identity", itertools.count()):
            if outcome.value == 10:
                raise RuntimeError("consumer stops")
    assert faultline_processes() == []


def test_big_inputs_do_not_deadlock():
    # 200,000 lines in both directions: far more than the pipes hold.
    n = 200_000
    count = 0
    for index, outcome in enumerate(faultline.stream(VICTIMS, "fl_identity", iter(range(n)))):
        assert outcome.value == index
        count += 1
    assert count == n


def test_stream_starts_nothing_until_iterated():
    generator = faultline.stream(VICTIMS, "fl_identity", [1])
    assert faultline_processes() == []
    assert list(generator) == [Returned(1)]


# ---- input encoding (no process) -----------------------------------------------

def test_encode_input():
    assert encode_input(-12) == b"-12\n"
    assert encode_input([1.5, "abc"]) == b'[1.5,"abc"]\n'
    assert encode_input((True, b"\x01\x02", math.inf, -math.inf)) == b'[true,{"base64":"AQI="},"inf","-inf"]\n'
    assert encode_input([math.nan]) == b'["nan"]\n'
    assert encode_input(["a\nb"]) == b'["a\\nb"]\n'
    with pytest.raises(TypeError):
        encode_input([object()])


def test_import_faultline_does_not_import_dask():
    code = "import sys, faultline; assert 'dask' not in sys.modules and 'distributed' not in sys.modules"
    subprocess.run([sys.executable, "-c", code], check=True, timeout=30)


# ---- signatures (when the binary has --signature) ------------------------------

needs_signature = pytest.mark.skipif(not cli_supports("--signature"),
                                     reason="this faultline binary has no --signature yet")


@needs_signature
def test_signature_values():
    assert faultline.call(VICTIMS, "fl_sig_mix", [[1.5, "abc"]], signature="double(double, string)") == [Returned(4.5)]
    assert faultline.call(VICTIMS, "fl_sig_sum_bytes", [[b"\x01\x02\xff"]], signature="int64(bytes)") == [Returned(258)]
    [inf] = faultline.call(VICTIMS, "fl_sig_d", [[math.inf]], signature="double(double)")
    assert inf.value == math.inf
    [filled] = faultline.call(VICTIMS, "fl_sig_fill", [["hi"]], signature="void(string, out_string[8])")
    assert filled == Returned(None, ("hi!",))
    [reversed_] = faultline.call(VICTIMS, "fl_sig_reverse", [[b"\x01\x02"]], signature="void(bytes, out_bytes[2])")
    assert reversed_.out == (b"\x02\x01",)
    [crash] = faultline.call(VICTIMS, "fl_sig_crash_on", [["crash"]], signature="int32(string)")
    assert crash == Signaled("SIGSEGV", "0x0") and crash.input == ["crash"]


# ---- parsing and the command line (no process) ---------------------------------

def test_parse_outcomes_of_every_kind():
    from faultline._outcomes import parse_outcome
    line = ('{"input":[1],"outcome":"signaled","signal":"SIGBUS","signo":7,"code":2,"address":"0x7f00",'
            '"backtrace":["f+0x1"],"frames":[{"address":16,"symbol":"f","offset":1,"image":"/lib.so"}],'
            '"replay":{"outcome":"signaled","signal":"SIGBUS","signo":7,"code":2,"address":"0x7f00",'
            '"backtrace":[],"frames":[]}}')
    import json
    crash = parse_outcome(json.loads(line), input=(1,))
    assert crash == Signaled("SIGBUS", "0x7f00", replay=Signaled("SIGBUS", "0x7f00"))
    assert crash.signo == 7 and crash.code == 2 and crash.backtrace == ("f+0x1",) and crash.input == (1,)
    assert crash.frames[0] == faultline.Frame(16, "f", 1, "/lib.so")
    assert crash != Signaled("SIGBUS", "0x7f00")  # no replay
    assert parse_outcome({"outcome": "corrupted", "detail": "x"}) == faultline.Corrupted("x")
    assert parse_outcome({"outcome": "timed_out", "seconds": 1.0}) == TimedOut(1.0)
    assert parse_outcome({"outcome": "returned", "value": "inf"}, floating=True).value == math.inf
    assert parse_outcome({"outcome": "returned", "value": "inf"}).value == "inf"  # a string return stays one
    assert math.isnan(parse_outcome({"outcome": "returned", "value": "nan"}, floating=True).value)
    both = parse_outcome({"outcome": "returned", "value": None, "out": ["hi", {"base64": "AP8="}]})
    assert both == Returned(None, ("hi", b"\x00\xff"))
    with pytest.raises(ValueError):
        parse_outcome({"outcome": "vanished"})
    with pytest.raises(dataclasses_frozen_error()):
        crash.signal = "SIGSEGV"


def dataclasses_frozen_error():
    import dataclasses
    return dataclasses.FrozenInstanceError


def test_command_line_passes_every_option_through():
    from faultline._run import command_line
    args = command_line("/x/faultline", "/lib.so", "f", signature="double(double)", init="setup",
                        strategy="fork", workers=3, timeout=1.5, verify_crashes=True,
                        memory_limit=1 << 20, max_calls_per_worker=100)
    assert args == ["/x/faultline", "call", "/lib.so", "f", "--strategy", "fork", "--workers", "3",
                    "--timeout", "1.5", "--signature", "double(double)", "--init", "setup",
                    "--verify-crashes", "--memory-limit", "1048576", "--max-calls-per-worker", "100"]
    assert command_line("/x/faultline", "/lib.so", "f") == ["/x/faultline", "call", "/lib.so", "f",
                                                            "--strategy", "pool"]


needs_verify = pytest.mark.skipif(not cli_supports("--verify-crashes"),
                                  reason="this faultline binary has no --verify-crashes yet")


@needs_verify
def test_verify_crashes_replays_each_crash():
    ok, crash = faultline.call(VICTIMS, "raise_a_fault", [1, 4], verify_crashes=True, **QUIET)
    assert ok.value == 1
    assert isinstance(crash.replay, Signaled) and crash.replay.signal == "SIGSEGV"


@pytest.mark.parametrize("signo, status", [(signal.SIGTERM, 143), (signal.SIGKILL, -9)])
def test_the_command_killed_from_outside_ends_the_generator_with_the_error(signo, status):
    def kill_the_command():
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            mine = [pid for pid, _ in faultline_processes() if _parent(pid) == os.getpid()]
            if mine:
                time.sleep(0.3)  # in the middle of the 20 s call
                os.kill(mine[0], signo)
                return
            time.sleep(0.02)

    killer = threading.Thread(target=kill_the_command)
    killer.start()
    started = time.monotonic()
    with pytest.raises(faultline.FaultlineError) as info:
        faultline.call(VICTIMS, "fl_slow", [20000])
    killer.join()
    assert info.value.status == status
    assert time.monotonic() - started < 10


def _parent(pid):
    try:
        with open(f"/proc/{pid}/stat") as f:
            return int(f.read().rsplit(")", 1)[1].split()[1])
    except OSError:
        return None
