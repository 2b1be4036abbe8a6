"""Faultline on a Dask cluster: shards of inputs, one Dask task per shard.

    from dask.distributed import Client, LocalCluster
    import faultline.dask
    with LocalCluster(n_workers=2, processes=True) as cluster, Client(cluster) as client:
        outcomes = faultline.dask.map(client, "/path/libFoo.so", "raise_a_fault", range(10000))

Each task runs ``faultline.call`` on its worker for one shard, so a callee
crash is an outcome inside the shard's result. If a Dask worker process dies
mid-shard, Dask's scheduler reruns that task on another worker; each shard's
outcomes are one task result, so no input is lost or answered twice. The
``faultline`` executable and the library must exist on every worker (at the
same path, or set FAULTLINE_EXECUTABLE there / pass ``executable=``).

This module imports dask; ``import faultline`` does not.
"""
from __future__ import annotations

import uuid
from typing import Any, Iterable, List

import distributed  # noqa: F401  (fails here, clearly, when dask[distributed] is missing)

from . import _run
from ._outcomes import Outcome


def run_shard(library, symbol, shard: List[Any], call_options: dict) -> List[Outcome]:
    """What one Dask task runs on its worker: ``faultline.call`` over one shard.

    The callee's output is dropped unless ``call_options`` names a ``stderr``."""
    options = dict(call_options)
    options.setdefault("stderr", _DEVNULL)
    return _run.call(library, symbol, shard, **options)


_DEVNULL = _run.subprocess.DEVNULL


def map(client, library, symbol, inputs: Iterable[Any], shard_size: int = 1000,
        **call_options) -> List[Outcome]:
    """One outcome per input, in input order, computed in shards of
    ``shard_size`` inputs, one Dask task per shard (``call_options`` as for
    ``faultline.call``). The command's own failures (a missing symbol, a
    malformed input) are raised here, as Dask raises a task's exception."""
    if shard_size < 1:
        raise ValueError("shard_size must be at least 1")
    items = list(inputs)
    shards = [items[start:start + shard_size] for start in range(0, len(items), shard_size)]
    if not shards:
        return []
    run = uuid.uuid4().hex
    futures = [
        client.submit(run_shard, library, symbol, shard, call_options,
                      key=f"faultline-shard-{run}-{index}", pure=False)
        for index, shard in enumerate(shards)
    ]
    try:
        results = client.gather(futures)
    finally:
        for future in futures:
            future.release()
    outcomes: List[Outcome] = []
    for shard, result in zip(shards, results):
        if len(result) != len(shard):
            raise _run.FaultlineError(f"a shard of {len(shard)} inputs came back with {len(result)} outcomes")
        outcomes.extend(result)
    return outcomes
