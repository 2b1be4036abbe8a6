"""sandbox=: a denied system call is a Violation; paths, network and presets as the CLI's flags."""
import os
import subprocess
import tempfile

import pytest

import faultline
from faultline import Returned, Sandbox, Signaled, Syscall, Violation

from conftest import VICTIMS

QUIET = {"stderr": subprocess.DEVNULL}

FORBIDDEN = [
    ("fl_sb_open_etc", "openat"), ("fl_sb_socket", "socket"), ("fl_sb_sendto_udp", "socket"),
    ("fl_sb_fork_exec", "clone"), ("fl_sb_exec", "execve"), ("fl_sb_kill_parent", "kill"),
    ("fl_sb_ptrace_parent", "ptrace"), ("fl_sb_mmap_exec", "mmap"), ("fl_sb_sigsys_handler", "rt_sigaction"),
    ("fl_sb_io_uring", "io_uring_setup"),
]


@pytest.mark.alarm(120)
@pytest.mark.parametrize("strategy", ["pool", "fork"])
def test_each_forbidden_thing_is_a_violation(strategy):
    for symbol, name in FORBIDDEN:
        outcomes = faultline.call(VICTIMS, symbol, [3, -1, 4], strategy=strategy, sandbox="pure", **QUIET)
        assert outcomes[0] == Returned(3) and outcomes[2] == Returned(4), (symbol, outcomes)
        violation = outcomes[1]
        assert isinstance(violation, Violation) and violation.kind == "violation" and not violation.ok, (symbol, violation)
        assert violation.syscall == Syscall(name, violation.syscall.number, "x86_64"), (symbol, violation.syscall)
        assert len(violation.syscall.args) == 6 and violation.pc.startswith("0x")
        assert violation.frames[-1].symbol == symbol and violation.backtrace[-1].startswith(symbol + " (sandbox_victims.c:")
        assert violation.bucket.startswith(f"violation:{name}:") and violation.input == -1


def test_a_violation_with_sigsys_blocked_has_no_call():
    [outcome] = faultline.call(VICTIMS, "fl_sb_block_sigsys", [-1], sandbox="pure", **QUIET)
    assert isinstance(outcome, Violation) and outcome.syscall is None and outcome.bucket == "violation:unknown:"


def test_allowed_work_and_crashes_are_as_without_a_sandbox():
    inputs = list(range(-40, 40, 7))
    assert faultline.call(VICTIMS, "fl_sb_compute", inputs, sandbox="pure", **QUIET) == \
        faultline.call(VICTIMS, "fl_sb_compute", inputs, **QUIET)
    [plain] = faultline.call(VICTIMS, "raise_a_fault", [5], **QUIET)
    [boxed] = faultline.call(VICTIMS, "raise_a_fault", [5], sandbox=Sandbox("pure"), **QUIET)
    assert isinstance(boxed, Signaled) and boxed.bucket == plain.bucket and boxed.signal == "SIGSEGV"


def test_paths_presets_and_limits():
    with tempfile.TemporaryDirectory() as folder:
        readable = os.path.join(folder, "readable")
        with open(readable, "w") as f:
            f.write("twelve bytes")
        sandbox = Sandbox("pure", allow_read=[readable])
        outcomes = faultline.call(VICTIMS, "fl_sb_read_file", [[readable], ["/etc/passwd"]], signature="int32(string)",
                                  sandbox=sandbox, **QUIET)
        assert [o.value for o in outcomes] == [12, -13]
    assert faultline.call(VICTIMS, "fl_sb_thread", [-3], sandbox="threads", **QUIET) == [Returned(-6)]
    [spun] = faultline.call(VICTIMS, "fl_sb_burn_cpu", [-1], sandbox=Sandbox("pure", cpu_limit=1), **QUIET)
    assert isinstance(spun, Signaled) and spun.signal == "SIGXCPU"
    udp = Sandbox("pure", network="host", allow_syscall=["socket a0 == 2 a1 == 2", "close"])
    assert faultline.call(VICTIMS, "fl_sb_sendto_udp", [-1], sandbox=udp, **QUIET) == [Returned(1)]


def test_bad_sandbox_input_is_a_usage_error():
    with pytest.raises(faultline.FaultlineUsageError) as caught:
        faultline.call(VICTIMS, "fl_identity", [1], sandbox=Sandbox("pure", allow_syscall=["ptrace"]), **QUIET)
    assert "always denied by the sandbox" in caught.value.message
    with pytest.raises(faultline.FaultlineUsageError) as caught:
        faultline.call(VICTIMS, "fl_identity", [1], strategy="guard", sandbox="pure", **QUIET)
    assert "--sandbox needs --strategy pool or fork" in caught.value.message


def test_triage_groups_violations():
    report = faultline.triage(VICTIMS, "fl_sb_socket", [-1, 2, -3], sandbox="pure", replays=1, **QUIET)
    assert report.total == 3 and report.returned == 1 and len(report.groups) == 1
    group = report.groups[0]
    assert group.outcome == "violation" and group.count == 2 and group.bucket.startswith("violation:socket:")
    assert group.syscall["name"] == "socket" and group.reproduced == 1
    assert "--sandbox" in group.reproduce
