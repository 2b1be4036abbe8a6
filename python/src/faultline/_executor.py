"""FaultlineExecutor: a concurrent.futures.Executor whose work is `faultline call`."""
from __future__ import annotations

import concurrent.futures
import threading
from typing import Any, Iterable, List

from ._outcomes import Outcome
from ._run import call, encode_input, find_executable, stream


class FaultlineExecutor(concurrent.futures.Executor):
    """Calls ``symbol`` from ``library`` through `faultline call`.

    ``submit(x)`` returns a Future resolved with x's outcome (a callee crash is
    an outcome, never an exception); submissions made while a run is busy are
    sent together through the next run. ``map(inputs)`` returns the list of
    outcomes in input order, all inputs streamed through one run.
    ``call_options`` are those of ``faultline.call`` (signature, init,
    strategy, workers, timeout, verify_crashes, executable, …).

    A failure of the command itself (a missing symbol, a malformed input)
    is the exception of the futures it concerns. ``shutdown(wait=True)``
    returns once every run it started has ended and been reaped.
    """

    def __init__(self, library, symbol: str, **call_options):
        find_executable(call_options.get("executable"))  # fail now, not in a future
        self.library = library
        self.symbol = symbol
        self.call_options = call_options
        self._pending: List[tuple] = []
        self._condition = threading.Condition()
        self._shutdown = False
        self._dispatcher: threading.Thread = None
        self._maps = 0  # map calls running (each owns one faultline run)

    def submit(self, input: Any) -> concurrent.futures.Future:  # type: ignore[override]
        encode_input(input)  # an input that cannot be written fails here
        future: concurrent.futures.Future = concurrent.futures.Future()
        with self._condition:
            if self._shutdown:
                raise RuntimeError("cannot submit after shutdown")
            self._pending.append((future, input))
            if self._dispatcher is None:
                self._dispatcher = threading.Thread(target=self._dispatch, name="faultline-executor",
                                                    daemon=True)
                self._dispatcher.start()
            self._condition.notify()
        return future

    def _dispatch(self):
        while True:
            with self._condition:
                while not self._pending and not self._shutdown:
                    self._condition.wait()
                if not self._pending:
                    return
                batch, self._pending = self._pending, []
            batch = [(f, x) for f, x in batch if f.set_running_or_notify_cancel()]
            if not batch:
                continue
            done = 0
            try:
                for outcome in stream(self.library, self.symbol, [x for _, x in batch], **self.call_options):
                    batch[done][0].set_result(outcome)
                    done += 1
            except BaseException as error:  # the command failed: the rest of the batch gets the error
                for future, _ in batch[done:]:
                    future.set_exception(error)

    def map(self, inputs: Iterable[Any], *, timeout=None, chunksize=None) -> List[Outcome]:  # type: ignore[override]
        """One outcome per input, in order, through one `faultline call` run.
        (``timeout`` and ``chunksize`` are accepted and ignored; pass the
        per-call deadline as the ``timeout`` call option.)"""
        with self._condition:
            if self._shutdown:
                raise RuntimeError("cannot map after shutdown")
            self._maps += 1
        try:
            return call(self.library, self.symbol, inputs, **self.call_options)
        finally:
            with self._condition:
                self._maps -= 1
                self._condition.notify_all()

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
        with self._condition:
            self._shutdown = True
            if cancel_futures:
                for future, _ in self._pending:
                    future.cancel()
                self._pending = []
            self._condition.notify_all()
            dispatcher = self._dispatcher
        if wait:
            if dispatcher is not None:
                dispatcher.join()
            with self._condition:  # maps running in other threads
                while self._maps:
                    self._condition.wait()
