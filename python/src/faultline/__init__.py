"""Call crash-prone native functions through the `faultline` command and get
one exact, typed outcome per input: Returned, Signaled, Exited, TimedOut,
Corrupted, or in a sandbox Violation, never a dead interpreter or a hung pool.

    import faultline
    outcomes = faultline.call("./libFoo.so", "raise_a_fault", [1, 4])
    # [Returned(value=1, ...), Signaled(signal='SIGSEGV', address='0x0', ...)]

`faultline.dask` (imported on its own) runs shards of inputs on a Dask cluster.
"""
from ._outcomes import Corrupted, Exited, Frame, Outcome, Returned, Signaled, Syscall, TimedOut, Violation
from ._sandbox import Sandbox
from ._run import (FaultlineError, FaultlineNotFoundError, FaultlineUsageError, call,
                   find_executable, stream)
from ._executor import FaultlineExecutor
from ._triage import Group, Triage, triage
from ._learn import Learned, LearnedCall, learn
from ._version import __version__

__all__ = [
    "call", "stream", "triage", "learn", "Learned", "LearnedCall", "find_executable", "FaultlineExecutor", "Triage", "Group",
    "Outcome", "Returned", "Signaled", "Exited", "TimedOut", "Corrupted", "Violation", "Syscall", "Frame",
    "Sandbox",
    "FaultlineError", "FaultlineUsageError", "FaultlineNotFoundError",
]
