"""Typed outcomes: one per input, parsed from the `faultline call` JSON lines."""
from __future__ import annotations

import base64
import math
from dataclasses import dataclass, field
from typing import Any, Optional, Tuple


class Outcome:
    """Base class of every outcome (``isinstance(x, faultline.Outcome)``).

    ``input`` is the input as it was passed in (not part of equality);
    ``replay`` is the outcome of re-running a crashed input (``verify_crashes``),
    or None.
    """

    kind = ""

    @property
    def ok(self) -> bool:
        """True when the callee returned."""
        return isinstance(self, Returned)


@dataclass(frozen=True)
class Frame:
    """One backtrace frame: its address, and when known its function
    (``symbol``, demangled), ``offset`` into it, the ``image`` (path), its
    ``build_id`` (hex), the ``image_offset`` (address minus the load bias,
    what ``addr2line -e`` takes), and from DWARF ``file``, ``line`` and
    ``column``. ``inlined`` marks a function inlined into the next frame."""

    address: int
    symbol: Optional[str] = None
    offset: Optional[int] = None
    image: Optional[str] = None
    build_id: Optional[str] = None
    image_offset: Optional[int] = None
    file: Optional[str] = None
    line: Optional[int] = None
    column: Optional[int] = None
    inlined: bool = False

    @classmethod
    def from_json(cls, obj: dict) -> "Frame":
        """A frame of the command's ``frames`` array."""
        return cls(obj.get("address", 0), obj.get("symbol"), obj.get("offset"), obj.get("image"),
                   obj.get("build_id"), obj.get("image_offset"), obj.get("file"), obj.get("line"),
                   obj.get("column"), bool(obj.get("inlined", False)))


@dataclass(frozen=True)
class Returned(Outcome):
    """The callee returned ``value``; ``out`` holds its output buffers (str or bytes)."""

    value: Any
    out: Tuple[Any, ...] = ()
    input: Any = field(default=None, compare=False)
    replay: Optional[Outcome] = None
    kind = "returned"


@dataclass(frozen=True)
class Signaled(Outcome):
    """A signal ended the call: ``signal`` is its name (``"SIGSEGV"``),
    ``address`` the fault address as ``"0x…"`` (None for a sent signal such as
    abort(), or a non-canonical pointer), ``backtrace`` one string per frame
    (``symbol (file:line)``, ``symbol+0xoffset`` or ``image+0xoffset``), cut at
    the call; ``frames`` the same as ``Frame`` objects. ``bucket`` is the crash's
    group key (``fl1-`` and 16 hex digits: the same bug gives the same key),
    ``access`` ``"read"``, ``"write"``, ``"exec"`` or None, ``message`` what the
    C runtime said before aborting (e.g. ``free(): double free detected in
    tcache 2``), ``severity`` a heuristic ``{"class": …, "exploitability": …}``.

    Equality compares ``signal``, ``address`` and ``replay`` only (the same
    crash has other addresses in another worker's backtrace)."""

    signal: str
    address: Optional[str] = None
    backtrace: Tuple[str, ...] = field(default=(), compare=False)
    signo: int = field(default=0, compare=False)
    code: Optional[int] = field(default=None, compare=False)
    frames: Tuple[Frame, ...] = field(default=(), compare=False, repr=False)
    truncated: bool = field(default=False, compare=False)
    input: Any = field(default=None, compare=False)
    replay: Optional[Outcome] = None
    bucket: Optional[str] = field(default=None, compare=False)
    access: Optional[str] = field(default=None, compare=False)
    message: Optional[str] = field(default=None, compare=False)
    severity: Optional[dict] = field(default=None, compare=False, repr=False)
    kind = "signaled"


@dataclass(frozen=True)
class Exited(Outcome):
    """The callee called ``exit(status)``."""

    status: int
    input: Any = field(default=None, compare=False)
    replay: Optional[Outcome] = None
    kind = "exited"


@dataclass(frozen=True)
class TimedOut(Outcome):
    """The call passed its deadline and was killed after ``seconds``."""

    seconds: float
    input: Any = field(default=None, compare=False)
    replay: Optional[Outcome] = None
    kind = "timed_out"


@dataclass(frozen=True)
class Corrupted(Outcome):
    """The call's result could not be trusted; ``detail`` says why."""

    detail: str
    input: Any = field(default=None, compare=False)
    replay: Optional[Outcome] = None
    kind = "corrupted"


_NON_FINITE = {"inf": math.inf, "-inf": -math.inf, "nan": math.nan}


def returns_float(signature: Optional[str]) -> bool:
    """True when a signature's return type is float or double."""
    if not signature:
        return False
    return signature.split("(", 1)[0].strip() in ("float", "double")


def decode_value(value: Any, floating: bool = False) -> Any:
    """A JSON value of the CLI's output as Python: {"base64": …} → bytes;
    "inf"/"-inf"/"nan" → float when ``floating``."""
    if isinstance(value, dict) and set(value) == {"base64"}:
        return base64.b64decode(value["base64"])
    if floating and isinstance(value, str) and value in _NON_FINITE:
        return _NON_FINITE[value]
    return value


def parse_outcome(obj: dict, input: Any = None, floating: bool = False) -> Outcome:
    """One decoded JSON object of the CLI's output as an outcome."""
    kind = obj.get("outcome")
    replay = obj.get("replay")
    replayed = parse_outcome(replay, input, floating) if isinstance(replay, dict) else None
    if kind == "returned":
        out = tuple(decode_value(v) for v in obj.get("out", ()))
        return Returned(decode_value(obj.get("value"), floating), out, input=input, replay=replayed)
    if kind == "signaled":
        frames = tuple(Frame.from_json(f) for f in obj.get("frames", ()))
        return Signaled(
            obj["signal"], obj.get("address"), tuple(obj.get("backtrace", ())),
            obj.get("signo", 0), obj.get("code"), frames, bool(obj.get("truncated", False)),
            input=input, replay=replayed, bucket=obj.get("bucket"), access=obj.get("access"),
            message=obj.get("message"), severity=obj.get("severity"),
        )
    if kind == "exited":
        return Exited(obj["status"], input=input, replay=replayed)
    if kind == "timed_out":
        return TimedOut(float(obj["seconds"]), input=input, replay=replayed)
    if kind == "corrupted":
        return Corrupted(obj.get("detail", ""), input=input, replay=replayed)
    raise ValueError(f"unknown outcome kind {kind!r}")
