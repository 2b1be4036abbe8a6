"""Shared fixtures: the executable and victims library, a per-test alarm, and a
check that no faultline process outlives a test."""
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
# The package of this checkout, whatever is installed: here, in the snippets'
# interpreters and in Dask's worker processes.
SOURCE = str(REPO / "python" / "src")
sys.path.insert(0, SOURCE)
os.environ["PYTHONPATH"] = os.pathsep.join([SOURCE] + [p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p])
os.environ.setdefault("FAULTLINE_EXECUTABLE", str(REPO / ".build/debug/faultline"))
os.environ.setdefault("FAULTLINE_VICTIMS", str(REPO / ".build/debug/libFaultlineVictims.so"))
EXECUTABLE = os.path.realpath(os.environ["FAULTLINE_EXECUTABLE"])
VICTIMS = os.environ["FAULTLINE_VICTIMS"]


def pytest_configure(config):
    config.addinivalue_line("markers", "alarm(seconds): this test's time limit (default 30 s)")
    if not os.access(EXECUTABLE, os.X_OK) or not os.path.exists(VICTIMS):
        raise pytest.UsageError(
            f"build first: swift build --product faultline && swift build --product FaultlineVictims "
            f"(looked for {EXECUTABLE} and {VICTIMS})")


@pytest.fixture
def victims():
    return VICTIMS


_help_text = None


def cli_supports(option):
    """Whether the faultline binary under test documents ``option`` in `call --help`."""
    global _help_text
    if _help_text is None:
        _help_text = subprocess.run([EXECUTABLE, "call", "--help"], capture_output=True, text=True,
                                    timeout=30).stdout
    return option in _help_text


from time_limit import time_limit_fixture  # noqa: E402

time_limit = time_limit_fixture(30)


def _stat(pid):
    with open(f"/proc/{pid}/stat", "rb") as f:
        text = f.read().decode("utf-8", "replace")
    rest = text[text.rindex(")") + 2:].split()
    return rest[0], int(rest[1])  # state, ppid


def faultline_processes():
    """Processes of the faultline executable under test (the CLI, its helper and
    workers: they share the binary), wherever they are in the process tree, and
    unreaped children of this process."""
    me = os.getpid()
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        pid = int(entry)
        try:
            state, ppid = _stat(pid)
            if state == "Z" and ppid == me:
                found.append((pid, "zombie child of the test process"))
                continue
            exe = os.readlink(f"/proc/{pid}/exe")
        except (OSError, ValueError, IndexError):
            continue
        if exe.removesuffix(" (deleted)") == EXECUTABLE:
            with open(f"/proc/{pid}/cmdline", "rb") as f:
                found.append((pid, f.read().replace(b"\0", b" ").decode("utf-8", "replace")))
    return found


def wait_for_no_faultline_process(seconds=10.0):
    deadline = time.monotonic() + seconds
    while True:
        left = faultline_processes()
        if not left or time.monotonic() > deadline:
            return left
        time.sleep(0.05)


@pytest.fixture(autouse=True)
def no_process_left():
    """No faultline process (nor an unreaped child) outlives the test."""
    yield
    left = wait_for_no_faultline_process()
    assert not left, f"processes left behind: {left}"
