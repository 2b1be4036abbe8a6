"""The `faultline` console command: replaces itself (os.execv) with the faultline
binary, so that arguments, standard streams, signals and the exit status are the
binary's own. The binary is the one the installed wheel carries; without one (a
source install) it is $FAULTLINE_EXECUTABLE, else the first ELF `faultline` on
PATH (never a script such as this one, which could lead back here)."""
import os
import sys
from typing import List, Optional

from ._run import bundled_executable


def _is_this_command(path: str) -> bool:
    try:
        with open(path, "rb") as file:
            return b"faultline._cli" in file.read(4096)
    except OSError:
        return False


def _elf_on_path() -> Optional[str]:
    for folder in os.environ.get("PATH", "").split(os.pathsep):
        candidate = os.path.join(folder or os.curdir, "faultline")
        try:
            if os.path.isfile(candidate) and os.access(candidate, os.X_OK):
                with open(candidate, "rb") as file:
                    if file.read(4) == b"\x7fELF":
                        return candidate
        except OSError:
            continue
    return None


def target() -> Optional[str]:
    """The binary `faultline` runs, or None."""
    named = os.environ.get("FAULTLINE_EXECUTABLE")
    if named and _is_this_command(named):
        named = None
    return bundled_executable() or named or _elf_on_path()


def main(argv: Optional[List[str]] = None) -> int:
    arguments = sys.argv[1:] if argv is None else list(argv)
    binary = target()
    if binary is None:
        sys.stderr.write("faultline: this installation carries no faultline binary (a source install): "
                         "set FAULTLINE_EXECUTABLE or put the faultline binary on PATH\n")
        return 127
    sys.stdout.flush()
    sys.stderr.flush()
    try:
        os.execv(binary, [binary] + arguments)
    except OSError as error:
        sys.stderr.write(f"faultline: cannot run {binary}: {error.strerror}\n")
    return 126
