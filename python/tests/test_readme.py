"""Every ```python block of README.md's Python section runs as written; where a
```text block follows it, that is exactly what it prints."""
import os
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest

from conftest import EXECUTABLE, VICTIMS

README = Path(__file__).resolve().parents[2] / "README.md"


def python_section():
    """README.md from its "## Python" heading to the next second-level heading."""
    text = README.read_text()
    start = text.index("\n## Python\n")
    end = text.find("\n## ", start + 1)
    return text[start:end if end >= 0 else len(text)]


class _Section:
    @staticmethod
    def read_text():
        return python_section()


SECTION = _Section
BLOCK = re.compile(r"```python\n(.*?)```(?:\s*```text\n(.*?)```)?", re.S)
SNIPPETS = BLOCK.findall(SECTION.read_text())


def test_the_section_has_its_snippets():
    assert len(SNIPPETS) >= 6
    text = SECTION.read_text()
    assert "Handling Segfaults in Python that occur in custom C++ libraries" in text
    assert "pip install ./python" in text


def run_snippet(tmp_path, code, extra_env=None):
    script = tmp_path / "snippet.py"
    script.write_text(code)
    env = dict(os.environ, FAULTLINE_EXECUTABLE=EXECUTABLE, VICTIMS=VICTIMS, **(extra_env or {}))
    return subprocess.run([sys.executable, str(script)], cwd=tmp_path, env=env, capture_output=True,
                          text=True, timeout=50)


def stop(process):
    process.terminate()
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


@pytest.fixture
def scheduler(tmp_path):
    """A real `dask scheduler` and one `dask worker` process, on this machine's loopback."""
    pytest.importorskip("distributed")
    file = tmp_path / "scheduler.json"
    env = dict(os.environ, FAULTLINE_EXECUTABLE=EXECUTABLE)
    quiet = dict(stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env, cwd=tmp_path)
    processes = [subprocess.Popen([sys.executable, "-m", "distributed.cli.dask_scheduler", "--host", "127.0.0.1",
                                   "--port", "0", "--no-dashboard", "--scheduler-file", str(file)], **quiet)]
    try:
        deadline = time.monotonic() + 30
        while not file.exists() and time.monotonic() < deadline:
            time.sleep(0.05)
        assert file.exists(), "the scheduler did not start"
        time.sleep(0.1)
        import json
        address = json.loads(file.read_text())["address"]
        processes.append(subprocess.Popen([sys.executable, "-m", "distributed.cli.dask_worker", address,
                                           "--nworkers", "1", "--nthreads", "1", "--no-dashboard"], **quiet))
        yield address
    finally:
        for process in reversed(processes):
            stop(process)


@pytest.mark.alarm(60)
@pytest.mark.parametrize("index", range(len(SNIPPETS)))
def test_snippet_runs_as_written(index, tmp_path, request):
    code, expected = SNIPPETS[index]
    extra = {}
    if "DASK_SCHEDULER" in code:
        extra["DASK_SCHEDULER"] = request.getfixturevalue("scheduler")
    result = run_snippet(tmp_path, code, extra)
    assert result.returncode == 0, f"snippet {index} failed:\n{code}\n{result.stderr[-3000:]}"
    assert result.stdout.strip(), f"snippet {index} printed nothing"
    if expected:
        assert result.stdout == expected
