"""Crash reports from Python: buckets and named frames on outcomes, faultline.triage."""
import subprocess

import pytest

import faultline
from faultline import Signaled

from conftest import EXECUTABLE, VICTIMS

QUIET = {"stderr": subprocess.DEVNULL}


@pytest.mark.parametrize("strategy", ["pool", "fork", "guard"])
def test_signaled_carries_bucket_access_and_named_frames(strategy):
    [null_write, overflow] = faultline.call(VICTIMS, "fl_mixed", [-1, -5], strategy=strategy, executable=EXECUTABLE, **QUIET)
    assert isinstance(null_write, Signaled) and isinstance(overflow, Signaled)
    assert null_write.bucket.startswith("fl1-") and len(null_write.bucket) == 20
    assert null_write.bucket != overflow.bucket
    assert null_write.access == "write"
    assert null_write.severity == {"class": "DestAvNearNull", "exploitability": "PROBABLY_EXPLOITABLE"}
    assert overflow.severity["class"] == "StackOverflow"
    # A static function is named (not just its image), and the frames end at the callee.
    assert null_write.frames[0].symbol == "write_through_null"
    assert null_write.frames[-1].symbol == "fl_mixed"
    assert null_write.frames[0].build_id and null_write.frames[0].image_offset is not None


def test_buckets_agree_across_strategies_and_worker_counts():
    keys = set()
    for strategy, workers in [("pool", 1), ("pool", 2), ("fork", None), ("guard", None)]:
        [outcome] = faultline.call(VICTIMS, "fl_mixed", [-1], strategy=strategy, workers=workers,
                                   executable=EXECUTABLE, **QUIET)
        keys.add(outcome.bucket)
    assert len(keys) == 1, keys


def test_abort_message_and_null_address():
    [outcome] = faultline.call(VICTIMS, "fl_mixed", [-4], strategy="fork", executable=EXECUTABLE, **QUIET)
    assert outcome.signal == "SIGABRT"
    assert outcome.address is None  # a sent signal has no fault address
    assert outcome.severity["class"] == "AbortSignal"


def test_triage_groups_counts_and_replays():
    inputs = [1, -1, 2, -2, -1, 3, -7, -1, -2]
    result = faultline.triage(VICTIMS, "fl_mixed", inputs, executable=EXECUTABLE, **QUIET)
    assert result.total == len(inputs) and result.returned == 3
    assert [group.count for group in result.groups] == [3, 2, 1]
    segv, fpe, exited = result.groups
    assert segv.signal == "SIGSEGV" and segv.bucket.startswith("fl1-") and segv.inputs == (-1, -1, -1)
    assert fpe.signal == "SIGFPE" and fpe.inputs == (-2, -2)
    assert exited.bucket == "exit:7" and exited.status == 7
    for group in result.groups:
        assert group.reproduced == group.replays == 3 and not group.flaky
        assert group.reproduce[1:2] == ("call",) and "--strategy" in group.reproduce and group.reproduce[-1] == str(group.inputs[0])
    assert segv.frames[0].symbol == "write_through_null"
    # The reproducer really reproduces: its one line has the group's bucket.
    run = subprocess.run(list(segv.reproduce), capture_output=True, text=True, timeout=60)
    assert f'"bucket":"{segv.bucket}"' in run.stdout


def test_triage_without_replays_and_usage_errors():
    result = faultline.triage(VICTIMS, "fl_mixed", [-1, 1], replays=0, executable=EXECUTABLE, **QUIET)
    assert [group.reproduced for group in result.groups] == [0] and result.groups[0].replays == 0
    with pytest.raises(faultline.FaultlineUsageError, match="no_such_function"):
        faultline.triage(VICTIMS, "no_such_function", [1], executable=EXECUTABLE, **QUIET)
