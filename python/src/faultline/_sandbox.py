"""`faultline.Sandbox`: the `--sandbox` flags of `faultline call`, as one value."""
from __future__ import annotations

import os
from dataclasses import dataclass
from typing import List, Optional, Sequence, Union


@dataclass(frozen=True)
class Sandbox:
    """The opt-in sandbox of the pool and fork strategies (README, "The sandbox").

    ``preset`` is ``"pure"`` (computation only) or ``"threads"``; ``allow_read``
    and ``allow_write`` are paths the callee may read (and write) beneath;
    ``allow_syscall`` rules such as ``"getcwd"`` or ``"socket a0 == 1"``;
    ``policy`` a file of such rules; ``network`` ``"none"`` (the default) or
    ``"host"``; ``cpu_limit`` (seconds), ``file_size_limit`` (bytes) and
    ``open_files_limit`` are rlimits of each worker process; ``strict`` refuses to
    run with less than asked. A denied system call is a ``Violation`` outcome."""

    preset: str = "pure"
    allow_read: Sequence[str] = ()
    allow_write: Sequence[str] = ()
    allow_syscall: Sequence[str] = ()
    policy: Optional[str] = None
    network: Optional[str] = None
    cpu_limit: Optional[int] = None
    file_size_limit: Optional[int] = None
    open_files_limit: Optional[int] = None
    strict: bool = False

    def arguments(self) -> List[str]:
        """The flags of `faultline call` for this sandbox."""
        args = ["--sandbox", self.preset]
        for path in self.allow_read:
            args += ["--allow-read", os.fspath(path)]
        for path in self.allow_write:
            args += ["--allow-write", os.fspath(path)]
        for rule in self.allow_syscall:
            args += ["--allow-syscall", rule]
        if self.policy is not None:
            args += ["--sandbox-policy", os.fspath(self.policy)]
        if self.network is not None:
            args += ["--network", self.network]
        for flag, value in (("--cpu-limit", self.cpu_limit), ("--file-size-limit", self.file_size_limit),
                            ("--open-files-limit", self.open_files_limit)):
            if value is not None:
                args += [flag, str(int(value))]
        if self.strict:
            args.append("--sandbox-strict")
        return args


def sandbox_arguments(sandbox: Union[None, str, Sandbox]) -> List[str]:
    """The flags for a ``sandbox=`` argument: None, a preset's name, or a ``Sandbox``."""
    if sandbox is None:
        return []
    if isinstance(sandbox, str):
        return Sandbox(sandbox).arguments()
    return sandbox.arguments()
