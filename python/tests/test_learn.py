"""faultline.learn: the calls a callee makes, recorded; the policy it writes, enforced."""
import subprocess

import pytest

import faultline
from faultline import Returned, Sandbox, Violation

from conftest import EXECUTABLE, VICTIMS

QUIET = {"stderr": subprocess.DEVNULL}


def test_learn_records_calls_and_its_policy_is_enforced(tmp_path):
    learned = faultline.learn(VICTIMS, "fl_sb_socket", [1, -1], workers=1, executable=EXECUTABLE, **QUIET)
    assert [type(o) for o in learned.outcomes] == [Returned, Returned]  # not sandboxed: socket() worked
    socket = [call for call in learned.calls if call.name == "socket"]
    assert socket and socket[0].count == 1 and socket[0].first_input == 1
    assert any(line.startswith("socket") for line in learned.policy.splitlines())
    policy = tmp_path / "policy"
    policy.write_text(learned.policy)
    sandbox = Sandbox(policy=str(policy), network="host")
    [allowed] = faultline.call(VICTIMS, "fl_sb_socket", [-1], sandbox=sandbox, executable=EXECUTABLE, **QUIET)
    assert isinstance(allowed, Returned) and allowed.value >= 0
    [caught] = faultline.call(VICTIMS, "fl_sb_open_etc", [-1], sandbox=sandbox, executable=EXECUTABLE, **QUIET)
    assert isinstance(caught, Violation) and caught.syscall.name == "openat"


def test_learn_usage_error():
    with pytest.raises(faultline.FaultlineUsageError, match="no_such_function"):
        faultline.learn(VICTIMS, "no_such_function", [1], executable=EXECUTABLE, **QUIET)
