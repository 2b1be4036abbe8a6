"""Running `faultline call`: inputs on stdin from a writer thread, outcomes
read from stdout as the lines arrive, the callee's output forwarded from stderr."""
from __future__ import annotations

import base64
import collections
import json
import math
import os
import shutil
import signal
import subprocess
import sys
import threading
from typing import Any, Iterable, Iterator, List, Optional

from ._outcomes import Outcome, parse_outcome, returns_float


class FaultlineError(Exception):
    """The faultline command failed: ``status`` is its exit status (None when it
    did not end with one), ``message`` its last ``faultline: …`` line without the
    prefix (or a description of what went wrong)."""

    def __init__(self, message: str, status: Optional[int] = None):
        super().__init__(message)
        self.message = message
        self.status = status


class FaultlineUsageError(FaultlineError, ValueError):
    """Exit status 2: a usage error, an unloadable library, a missing symbol or a
    malformed input. ``message`` is the command's one line without ``faultline: ``."""


class FaultlineNotFoundError(FaultlineError, FileNotFoundError):
    """No faultline executable: pass ``executable=``, set FAULTLINE_EXECUTABLE, install
    the wheel (it carries one), or put it on PATH."""


# Where a wheel built by scripts/wheel carries the binary (faultline-helper and
# the vendored libunwind beside it); a source or editable install has none.
_BUNDLED = os.path.join(os.path.dirname(os.path.abspath(__file__)), "_bin", "faultline")


def bundled_executable() -> Optional[str]:
    """The faultline binary this installation carries (a wheel's), else None."""
    return _BUNDLED if os.path.isfile(_BUNDLED) and os.access(_BUNDLED, os.X_OK) else None


def find_executable(executable: Optional[str] = None) -> str:
    """The faultline executable: ``executable``, else $FAULTLINE_EXECUTABLE, else the
    one the installed wheel carries, else ``faultline`` on PATH."""
    if executable is not None:
        where = "executable argument"
        candidate = os.fspath(executable)
    elif os.environ.get("FAULTLINE_EXECUTABLE"):
        where = "FAULTLINE_EXECUTABLE"
        candidate = os.environ["FAULTLINE_EXECUTABLE"]
    else:
        found = bundled_executable() or shutil.which("faultline")
        if found is None:
            raise FaultlineNotFoundError(
                "no faultline executable: pass executable=, set FAULTLINE_EXECUTABLE, "
                "install the faultline wheel, or put faultline on PATH")
        return found
    if os.sep not in candidate:
        found = shutil.which(candidate)
        if found is not None:
            return found
    if not (os.path.isfile(candidate) and os.access(candidate, os.X_OK)):
        raise FaultlineNotFoundError(f"faultline executable not found ({where}): {candidate}")
    return candidate


def _json_value(value: Any) -> Any:
    if isinstance(value, (bytes, bytearray, memoryview)):
        return {"base64": base64.b64encode(bytes(value)).decode("ascii")}
    if isinstance(value, float) and not math.isfinite(value):
        return "nan" if math.isnan(value) else ("inf" if value > 0 else "-inf")
    if isinstance(value, (list, tuple)):
        return [_json_value(v) for v in value]
    return value


def encode_input(value: Any) -> bytes:
    """One input as one line of the CLI's standard input (with the newline).

    An int is written in decimal; anything else as JSON (a list or tuple of
    int, float, bool, str or bytes for a signature; bytes become
    ``{"base64": …}``, non-finite floats "inf"/"-inf"/"nan")."""
    if isinstance(value, int) and not isinstance(value, bool):
        return b"%d\n" % value
    return json.dumps(_json_value(value), separators=(",", ":"), allow_nan=False).encode() + b"\n"


def command_line(executable: str, library: Any, symbol: str, signature=None, init=None,
                 strategy: str = "pool", workers=None, timeout=None, verify_crashes=False,
                 memory_limit=None, max_calls_per_worker=None) -> List[str]:
    """The argument vector of one `faultline call` run that reads its inputs from stdin."""
    args = [executable, "call", os.fspath(library), symbol]
    if strategy is not None:
        args += ["--strategy", str(strategy)]
    if workers is not None:
        args += ["--workers", str(int(workers))]
    if timeout is not None:
        args += ["--timeout", repr(float(timeout))]
    if signature is not None:
        args += ["--signature", signature]
    if init is not None:
        args += ["--init", init]
    if verify_crashes:
        args.append("--verify-crashes")
    if memory_limit is not None:
        args += ["--memory-limit", str(int(memory_limit))]
    if max_calls_per_worker is not None:
        args += ["--max-calls-per-worker", str(int(max_calls_per_worker))]
    return args


_PREFIX = b"faultline: "


class _StderrPump(threading.Thread):
    """Forwards the command's stderr (the callee's output) line by line, and
    keeps the command's own ``faultline: …`` lines for the error message."""

    def __init__(self, pipe, sink):
        super().__init__(name="faultline-stderr", daemon=True)
        self.pipe = pipe
        self.sink = sink
        self.own: List[str] = []

    def _write(self, line: bytes):
        sink = sys.stderr if self.sink is None else self.sink
        if sink is subprocess.DEVNULL:
            return
        try:
            sink.write(line.decode("utf-8", "replace"))
            sink.flush()
        except Exception:
            pass

    def run(self):
        try:
            for line in iter(self.pipe.readline, b""):
                if line.startswith(_PREFIX):
                    self.own.append(line[len(_PREFIX):].decode("utf-8", "replace").rstrip("\n"))
                else:
                    self._write(line)
        except (OSError, ValueError):
            pass
        finally:
            try:
                self.pipe.close()
            except (OSError, ValueError):
                pass

    def message(self) -> Optional[str]:
        return self.own[-1] if self.own else None


class _Run:
    """One `faultline call` process; iterate it for outcomes. ``close()`` ends it."""

    def __init__(self, args: List[str], inputs: Iterable[Any], floating: bool, stderr=None):
        self.args = args
        self.inputs = inputs
        self.floating = floating
        self.stderr = stderr
        self.sent = collections.deque()  # inputs written and not yet answered
        self.written = 0
        self.writer_done = False
        self.writer_error: Optional[BaseException] = None
        self.stop = threading.Event()
        self.proc: Optional[subprocess.Popen] = None

    def _writer(self):
        pipe = self.proc.stdin
        try:
            sized = isinstance(self.inputs, (list, tuple))
            pending = []
            for value in self.inputs:
                if self.stop.is_set():
                    return
                line = encode_input(value)
                self.sent.append(value)
                if sized:
                    pending.append(line)
                    if len(pending) >= 4096:
                        pipe.write(b"".join(pending))
                        pending.clear()
                else:
                    pipe.write(line)
                    pipe.flush()
                self.written += 1
            if pending:
                pipe.write(b"".join(pending))
            self.writer_done = True
        except (BrokenPipeError, OSError, ValueError) as error:
            if not self.stop.is_set() and not isinstance(error, (BrokenPipeError, ValueError)):
                self.writer_error = error
        except BaseException as error:  # the input iterator failed, or an input is not JSON
            self.writer_error = error
        finally:
            try:
                pipe.close()
            except (OSError, ValueError):
                pass

    def __iter__(self) -> Iterator[Outcome]:
        self.proc = subprocess.Popen(self.args, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE, close_fds=True)
        try:
            self.pump = _StderrPump(self.proc.stderr, self.stderr)
            self.pump.start()
            writer = threading.Thread(target=self._writer, name="faultline-stdin", daemon=True)
            writer.start()
            answered = 0
            for line in iter(self.proc.stdout.readline, b""):
                try:
                    obj = json.loads(line)
                    value = self.sent.popleft()
                    outcome = parse_outcome(obj, value, self.floating)
                except (ValueError, KeyError, IndexError, TypeError) as error:
                    raise FaultlineError(f"unexpected output line from faultline: {line[:200]!r} ({error})")
                answered += 1
                yield outcome
            try:  # its output is closed: it is exiting (a bound, not a timeout on calls)
                status = self.proc.wait(timeout=60)
            except subprocess.TimeoutExpired:
                raise FaultlineError("faultline closed its output but did not exit within 60 s")
            self.pump.join(timeout=2.0)
            writer.join(timeout=0.5)
            message = self.pump.message()
            if status == 2:
                raise FaultlineUsageError(message or "usage error (exit status 2)", status)
            if status != 0:
                if status < 0:
                    text = f"faultline was killed by signal {-status}"
                else:
                    text = message or f"faultline exited with status {status}"
                raise FaultlineError(text, status)
            if self.writer_error is not None:
                raise self.writer_error
            if not self.writer_done or answered != self.written:
                raise FaultlineError(
                    f"faultline ended with status 0 after {answered} outcomes for "
                    f"{self.written} inputs{' (' + message + ')' if message else ''}", status)
        finally:
            self.close()

    def close(self):
        """Ends the process (SIGTERM, then SIGKILL) and reaps it."""
        self.stop.set()
        proc = self.proc
        if proc is None:
            return
        if proc.poll() is None:
            try:
                proc.send_signal(signal.SIGTERM)
                proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
            except ProcessLookupError:
                pass
        for pipe in (proc.stdout,):
            try:
                pipe.close()
            except (OSError, ValueError):
                pass
        proc.wait()


def stream(library, symbol, inputs: Iterable[Any], signature=None, init=None, strategy="pool",
           workers=None, timeout=None, verify_crashes=False, executable=None, *,
           memory_limit=None, max_calls_per_worker=None, stderr=None) -> Iterator[Outcome]:
    """Yields one outcome per input, in input order, as `faultline call` prints them.

    Inputs go to the command's stdin from a writer thread while outcomes are
    read, so ``inputs`` may be an unbounded or slow iterator. Closing the
    generator (or dropping it, or an exception in the consumer) terminates
    and reaps the command. The callee's output is forwarded to ``stderr``
    (default ``sys.stderr``; ``subprocess.DEVNULL`` drops it).

    Raises FaultlineUsageError (exit status 2) or FaultlineError (any other
    failure) after the outcomes that were printed before it."""
    args = command_line(find_executable(executable), library, symbol, signature, init, strategy,
                        workers, timeout, verify_crashes, memory_limit, max_calls_per_worker)
    return iter(_Run(args, inputs, returns_float(signature), stderr))


def call(library, symbol, inputs: Iterable[Any], signature=None, init=None, strategy="pool",
         workers=None, timeout=None, verify_crashes=False, executable=None, *,
         memory_limit=None, max_calls_per_worker=None, stderr=None) -> List[Outcome]:
    """One outcome per input, in input order (see ``stream``)."""
    return list(stream(library, symbol, inputs, signature, init, strategy, workers, timeout,
                       verify_crashes, executable, memory_limit=memory_limit,
                       max_calls_per_worker=max_calls_per_worker, stderr=stderr))
