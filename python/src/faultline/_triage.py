"""`faultline.triage`: the failures of a run grouped by bug (`faultline triage --json`)."""
from __future__ import annotations

import json
import subprocess
from dataclasses import dataclass, field
from typing import Any, Iterable, List, Optional, Tuple

from ._outcomes import Frame
from ._run import FaultlineError, FaultlineUsageError, command_line, encode_input, find_executable

_PREFIX = "faultline: "


@dataclass(frozen=True)
class Group:
    """One group of failures: every input whose crash has the same ``bucket``
    (``fl1-…``), or ``"timeout"``, ``"exit:<status>"`` or ``"corrupted"``.

    ``count`` inputs fell in it; ``inputs`` are the first five, in input
    order; ``outcome`` is the kind of their outcome (``"signaled"``, …);
    ``signal``, ``access``, ``message``, ``severity`` and the top five
    ``frames`` describe a crash; ``reproduce`` is the argument vector of a
    ``faultline call … --strategy fork`` command that runs the first input
    alone, and ``reproduced`` how many of ``replays`` such runs gave the same
    group again."""

    bucket: str
    count: int
    outcome: str
    inputs: Tuple[Any, ...] = ()
    signal: Optional[str] = None
    access: Optional[str] = None
    message: Optional[str] = None
    severity: Optional[dict] = field(default=None, repr=False)
    frames: Tuple[Frame, ...] = field(default=(), repr=False)
    status: Optional[int] = None
    reproduce: Tuple[str, ...] = field(default=(), repr=False)
    reproduced: int = 0
    replays: int = 0

    @property
    def flaky(self) -> bool:
        """True when some replays, but not all, gave this group again."""
        return 0 < self.reproduced < self.replays


@dataclass(frozen=True)
class Triage:
    """What ``faultline.triage`` returns: the groups, largest first, and the totals."""

    groups: Tuple[Group, ...]
    total: int
    returned: int


def _group(obj: dict) -> Group:
    return Group(
        bucket=obj["bucket"], count=int(obj["count"]), outcome=obj["outcome"],
        inputs=tuple(obj.get("inputs", ())), signal=obj.get("signal"), access=obj.get("access"),
        message=obj.get("message"), severity=obj.get("severity"),
        frames=tuple(Frame.from_json(f) for f in obj.get("frames", ())), status=obj.get("status"),
        reproduce=tuple(obj.get("reproduce", ())), reproduced=int(obj.get("reproduced", 0)),
        replays=int(obj.get("replays", 0)),
    )


def triage(library, symbol, inputs: Iterable[Any], signature=None, init=None, strategy="pool",
           workers=None, timeout=None, executable=None, *, replays: int = 3,
           memory_limit=None, max_calls_per_worker=None, stderr=None) -> Triage:
    """Runs every input as ``faultline.call`` does and groups the failures by bug.

    Each group's first input is run again alone in a fresh process ``replays``
    times (0: never). The callee's output goes to ``stderr`` (default: this
    process's stderr; ``subprocess.DEVNULL`` drops it). Raises
    FaultlineUsageError (exit status 2) or FaultlineError."""
    args = command_line(find_executable(executable), library, symbol, signature, init, strategy,
                        workers, timeout, False, memory_limit, max_calls_per_worker)
    args[1] = "triage"
    args += ["--json", "--replays", str(int(replays))]
    payload = b"".join(encode_input(value) for value in inputs)
    run = subprocess.run(args, input=payload, stdout=subprocess.PIPE, stderr=subprocess.PIPE, close_fds=True)
    own = [line[len(_PREFIX):] for line in run.stderr.decode("utf-8", "replace").splitlines()
           if line.startswith(_PREFIX)]
    if stderr is not subprocess.DEVNULL:
        other = "".join(line + "\n" for line in run.stderr.decode("utf-8", "replace").splitlines()
                        if not line.startswith(_PREFIX))
        if other:
            import sys
            (stderr or sys.stderr).write(other)
    message = own[-1] if own else None
    if run.returncode == 2:
        raise FaultlineUsageError(message or "usage error (exit status 2)", 2)
    if run.returncode != 0:
        raise FaultlineError(message or f"faultline triage exited with status {run.returncode}", run.returncode)
    lines = [json.loads(line) for line in run.stdout.splitlines() if line.strip()]
    if not lines or "total" not in lines[-1]:
        raise FaultlineError("faultline triage printed no totals line")
    totals = lines[-1]
    return Triage(tuple(_group(obj) for obj in lines[:-1]), int(totals["total"]), int(totals["returned"]))
