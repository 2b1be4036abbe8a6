"""`faultline.learn`: the system calls a callee makes, recorded (`faultline call --sandbox-learn`)."""
from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from typing import Any, Iterable, List, Optional, Tuple

from ._outcomes import Outcome, parse_outcome, returns_float
from ._run import FaultlineError, FaultlineUsageError, command_line, encode_input, find_executable

_PREFIX = "faultline: "
_CALL = re.compile(r"^faultline:   (\S+) (\d+) first input (\d+)$")


@dataclass(frozen=True)
class LearnedCall:
    """One system call the callee made: its ``name``, how many times, and the first input that made it."""

    name: str
    count: int
    first_input: int


@dataclass(frozen=True)
class Learned:
    """What ``faultline.learn`` returns: every input's outcome (the run was NOT
    sandboxed), the calls made, and ``policy``, the text of a policy file that
    ``Sandbox(policy=…)`` enforces."""

    outcomes: Tuple[Outcome, ...]
    calls: Tuple[LearnedCall, ...]
    policy: str


def learn(library, symbol, inputs: Iterable[Any], signature=None, init=None, workers=None, timeout=None,
          executable=None, *, stderr=None) -> Learned:
    """Runs every input in a pool whose workers may make any system call, each
    recorded (seccomp user notification, answered by the pool's helper): NOT a
    sandbox. Raises FaultlineUsageError (exit status 2) or FaultlineError."""
    values = list(inputs)
    with tempfile.TemporaryDirectory(prefix="faultline-learn-") as folder:
        policy_path = os.path.join(folder, "policy")
        args = command_line(find_executable(executable), library, symbol, signature, init, "pool", workers, timeout)
        args += ["--sandbox-learn", "--sandbox-learn-file", policy_path]
        run = subprocess.run(args, input=b"".join(encode_input(v) for v in values), stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, close_fds=True)
        lines = run.stderr.decode("utf-8", "replace").splitlines()
        own = [line for line in lines if line.startswith(_PREFIX)]
        if stderr is not subprocess.DEVNULL:
            other = "".join(line + "\n" for line in lines if not line.startswith(_PREFIX))
            if other:
                (stderr or sys.stderr).write(other)
        message = own[-1][len(_PREFIX):] if own else None
        if run.returncode == 2:
            raise FaultlineUsageError(message or "usage error (exit status 2)", 2)
        if run.returncode != 0:
            raise FaultlineError(message or f"faultline exited with status {run.returncode}", run.returncode)
        floating = returns_float(signature)
        outcomes = tuple(parse_outcome(json.loads(line), value, floating)
                         for line, value in zip(run.stdout.splitlines(), values))
        calls = tuple(LearnedCall(m.group(1), int(m.group(2)), int(m.group(3)))
                      for m in (_CALL.match(line) for line in own) if m)
        policy = open(policy_path, encoding="utf-8").read() if os.path.exists(policy_path) else ""
    return Learned(outcomes, calls, policy)
