"""Which faultline binary the package runs: ``executable=``, then
FAULTLINE_EXECUTABLE, then the one an installed wheel carries, then PATH; and
the `faultline` console command, which replaces itself with that binary."""
import json
import os
import shutil
import subprocess
import sys

import pytest

import faultline
from faultline import _cli, _run

from conftest import EXECUTABLE, SOURCE, VICTIMS


def _binary(folder, name="faultline"):
    """An executable ELF file called ``name`` in ``folder``."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    shutil.copy("/bin/true", path)
    return str(path)


def _script(folder):
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "faultline"
    path.write_text("#!/bin/sh\nexit 9\n")
    path.chmod(0o755)
    return str(path)


@pytest.fixture
def places(tmp_path, monkeypatch):
    """A bundled binary, one on PATH, and one named by the variable, all different."""
    bundled = _binary(tmp_path / "site" / "_bin")
    on_path = _binary(tmp_path / "bin")
    named = _binary(tmp_path / "named")
    monkeypatch.setattr(_run, "_BUNDLED", bundled)
    monkeypatch.setenv("PATH", str(tmp_path / "bin"))
    monkeypatch.setenv("FAULTLINE_EXECUTABLE", named)
    return bundled, on_path, named


def test_the_order_is_argument_variable_bundled_path(places, tmp_path, monkeypatch):
    bundled, on_path, named = places
    argument = _binary(tmp_path / "argument")
    assert faultline.find_executable(argument) == argument
    assert faultline.find_executable() == named
    monkeypatch.delenv("FAULTLINE_EXECUTABLE")
    assert faultline.find_executable() == bundled
    os.remove(bundled)                        # a source install carries none
    assert _run.bundled_executable() is None
    assert faultline.find_executable() == on_path
    os.remove(on_path)
    with pytest.raises(faultline.FaultlineNotFoundError, match="install the faultline wheel"):
        faultline.find_executable()


def test_the_command_runs_the_bundled_binary_first(places, tmp_path, monkeypatch):
    bundled, on_path, named = places
    assert _cli.target() == bundled
    os.remove(bundled)
    assert _cli.target() == named
    monkeypatch.delenv("FAULTLINE_EXECUTABLE")
    assert _cli.target() == on_path


def test_the_command_never_runs_a_script_from_path(tmp_path, monkeypatch):
    """A script on PATH (another console command, a pyenv shim) could lead back here: skipped."""
    monkeypatch.setattr(_run, "_BUNDLED", str(tmp_path / "none" / "faultline"))
    monkeypatch.delenv("FAULTLINE_EXECUTABLE", raising=False)
    _script(tmp_path / "first")
    elf = _binary(tmp_path / "second")
    monkeypatch.setenv("PATH", os.pathsep.join([str(tmp_path / "first"), str(tmp_path / "second")]))
    assert _cli.target() == elf
    os.remove(elf)
    assert _cli.target() is None
    assert _cli.main(["--version"]) == 127


def _command(arguments, **env):
    """The console command's entry point in a fresh interpreter, as pip's script runs it."""
    code = "import sys; from faultline._cli import main; sys.exit(main())"
    environment = dict(os.environ, PYTHONPATH=SOURCE, **env)
    return subprocess.run([sys.executable, "-c", code] + arguments, env=environment,
                          capture_output=True, text=True, timeout=60)


def test_the_command_is_the_binary_with_its_output_and_status():
    version = _command(["--version"], FAULTLINE_EXECUTABLE=EXECUTABLE)
    assert (version.returncode, version.stdout) == (0, faultline.__version__ + "\n")
    run = _command(["call", VICTIMS, "raise_a_fault", "2", "5"], FAULTLINE_EXECUTABLE=EXECUTABLE)
    assert run.returncode == 0, run.stderr
    assert [json.loads(line)["outcome"] for line in run.stdout.splitlines()] == ["returned", "signaled"]
    missing = _command(["call", VICTIMS, "no_such_function", "1"], FAULTLINE_EXECUTABLE=EXECUTABLE)
    assert missing.returncode == 2
    assert "no_such_function" in missing.stderr
