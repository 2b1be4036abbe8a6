"""The installed wheel, as a new user has it: no Swift, no build tree, no
FAULTLINE_EXECUTABLE; only what `pip install faultline-*.whl` put in this
virtual environment. scripts/test runs this file (never part of python/tests)."""
import json
import os
import shutil
import signal
import subprocess
import sys
import time

import pytest

import faultline
from faultline import Exited, FaultlineExecutor, Returned, Signaled

SITE = os.path.dirname(os.path.dirname(os.path.abspath(faultline.__file__)))
BUNDLED = os.path.join(SITE, "faultline", "_bin", "faultline")
INPUTS = [3, -1, 0, 107, 5]
EXPECTED = [Returned(9), Signaled("SIGSEGV", "0x0"), Signaled("SIGABRT", None), Exited(7), Returned(25)]


def check(outcomes):
    assert outcomes == EXPECTED
    assert [o.input for o in outcomes] == INPUTS
    # libunwind walked the stack: the faulting function and its caller, by name.
    names = [frame.symbol for frame in outcomes[1].frames]
    assert names[:2] == ["wheel_fault", "mixed"], outcomes[1].backtrace


def test_only_the_wheel_provides_faultline():
    assert os.environ.get("FAULTLINE_EXECUTABLE") is None
    assert shutil.which("swift") is None
    assert not any(".build" in folder for folder in os.environ["PATH"].split(os.pathsep))
    assert os.path.realpath(faultline.__file__).startswith(os.path.realpath(sys.prefix) + os.sep)
    assert sys.prefix != sys.base_prefix                        # a virtual environment
    assert faultline.find_executable() == BUNDLED
    assert shutil.which("faultline") == os.path.join(sys.prefix, "bin", "faultline")
    for program in ("faultline", "faultline-helper"):
        linked = subprocess.run(["ldd", os.path.join(SITE, "faultline", "_bin", program)],
                                capture_output=True, text=True, timeout=30, check=True).stdout
        assert "libswift" not in linked and "not found" not in linked, linked
        assert "faultline.libs/libffi" in linked, linked


def test_call_from_the_bundled_pieces(library):
    # The pool's workers fork from the wheel's faultline-helper; fork forks the wheel's faultline.
    # Both loaded libunwind from the wheel and libffi from faultline.libs.
    assert faultline.call(library, "from_wheel", [0, 1, 2]) == [Returned(1)] * 3
    assert faultline.call(library, "from_wheel", [0, 1, 3], strategy="fork") == [Returned(1)] * 3


@pytest.mark.parametrize("strategy", ["pool", "fork"])
def test_call(library, strategy):
    check(faultline.call(library, "mixed", INPUTS, strategy=strategy, stderr=subprocess.DEVNULL))


def test_stream(library):
    def endless():
        while True:
            yield from INPUTS

    seen = []
    for outcome in faultline.stream(library, "mixed", endless(), stderr=subprocess.DEVNULL):
        seen.append(outcome)
        if len(seen) == 3 * len(INPUTS):
            break
    for start in range(0, len(seen), len(INPUTS)):
        check(seen[start:start + len(INPUTS)])


def test_executor(library):
    with FaultlineExecutor(library, "mixed", workers=2, stderr=subprocess.DEVNULL) as pool:
        check(pool.map(INPUTS))
        futures = [pool.submit(x) for x in INPUTS]
        check([future.result(timeout=30) for future in futures])


@pytest.mark.alarm(180)
def test_dask_on_two_workers(library):
    from dask.distributed import Client, LocalCluster
    import faultline.dask

    inputs = INPUTS * 40
    with LocalCluster(n_workers=2, threads_per_worker=1, dashboard_address=None) as cluster, \
            Client(cluster) as client:
        outcomes = faultline.dask.map(client, library, "mixed", inputs, shard_size=50, stderr=subprocess.DEVNULL)
        where = client.run(lambda: faultline.find_executable())
    assert len(where) == 2 and set(where.values()) == {BUNDLED}
    assert len(outcomes) == len(inputs)
    for start in range(0, len(inputs), len(INPUTS)):
        check(outcomes[start:start + len(INPUTS)])


def command(*arguments, stdin=None):
    return subprocess.run(["faultline", *arguments], input=stdin, capture_output=True, text=True, timeout=60)


def test_the_console_command(library):
    run = command("call", library, "mixed", stdin="".join(f"{x}\n" for x in INPUTS))
    assert run.returncode == 0, run.stderr
    lines = [json.loads(line) for line in run.stdout.splitlines()]
    assert [(o["input"], o["outcome"], o.get("value"), o.get("signal"), o.get("status")) for o in lines] == [
        (3, "returned", 9, None, None), (-1, "signaled", None, "SIGSEGV", None),
        (0, "signaled", None, "SIGABRT", None), (107, "exited", None, None, 7), (5, "returned", 25, None, None)]
    missing = command("call", library, "no_such_function", "1")
    assert missing.returncode == 2 and missing.stdout == ""
    assert missing.stderr.startswith("faultline: ") and "no_such_function" in missing.stderr


def test_version_is_the_packages():
    run = command("--version")
    assert (run.returncode, run.stdout) == (0, faultline.__version__ + "\n")


def test_the_command_becomes_the_binary(library):
    """The console script execs: the process is the bundled binary, its signals and status its own."""
    process = subprocess.Popen(["faultline", "call", library, "mixed"], stdin=subprocess.PIPE,
                               stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 30
        exe = None
        while time.monotonic() < deadline:
            exe = os.readlink(f"/proc/{process.pid}/exe")
            if exe == BUNDLED:
                break
            time.sleep(0.02)
        assert exe == BUNDLED
        process.stdin.write(b"4\n")
        process.stdin.flush()
        assert json.loads(process.stdout.readline()) == {"input": 4, "outcome": "returned", "value": 16}
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=30) == 143
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
