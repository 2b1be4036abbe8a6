"""faultline.dask.map on a LocalCluster with worker processes."""
import os
import signal
import subprocess
import threading
import time

import pytest

distributed = pytest.importorskip("distributed")

import faultline
import faultline.dask
from faultline import Exited, Returned, Signaled

from conftest import VICTIMS, faultline_processes, wait_for_no_faultline_process


def suspicious_shards(dask_scheduler):
    """How many times a shard task was in flight on a worker that died."""
    return sum(prefix.suspicious for name, prefix in dask_scheduler.task_prefixes.items()
               if name.startswith("faultline"))


def local_cluster():
    return distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                    dashboard_address=None, silence_logs=50)


@pytest.mark.alarm(60)
def test_twenty_thousand_inputs_with_a_quarter_faulting():
    # fl_mixed: r >= 0 returns r, -1 SIGSEGV, -2 SIGFPE, -7 exit(7).
    inputs = [(-1, -2, -7)[i % 3] if i % 4 == 0 else i for i in range(20_000)]
    with local_cluster() as cluster, distributed.Client(cluster) as client:
        outcomes = faultline.dask.map(client, VICTIMS, "fl_mixed", inputs, shard_size=1000, workers=2)
        assert len(outcomes) == len(inputs)
        for r, outcome in zip(inputs, outcomes):
            assert outcome.input == r
            if r >= 0:
                assert outcome == Returned(r)
            elif r == -7:
                assert outcome == Exited(7)
            else:
                assert isinstance(outcome, Signaled) and outcome.signal == ("SIGSEGV" if r == -1 else "SIGFPE")
        faults = sum(not o.ok for o in outcomes)
        assert faults == 5000
        # A command failure is raised, as Dask raises a task's exception.
        with pytest.raises(faultline.FaultlineUsageError, match="no_such_symbol"):
            faultline.dask.map(client, VICTIMS, "no_such_symbol", [1, 2, 3], shard_size=2)
    assert wait_for_no_faultline_process() == []


@pytest.mark.alarm(90)
def test_a_worker_killed_mid_shard_loses_nothing():
    # fl_slow sleeps r ms and returns r; 16 shards of 25 take ~0.45 s each on one call worker.
    inputs = [i % 37 for i in range(400)]
    with local_cluster() as cluster, distributed.Client(cluster) as client:
        client.wait_for_workers(2, timeout=30)
        pids = client.run(os.getpid)
        result = {}

        def run():
            try:
                result["outcomes"] = faultline.dask.map(client, VICTIMS, "fl_slow", inputs, shard_size=25,
                                                        workers=1)
            except BaseException as error:  # surfaced by the assertion below
                result["error"] = error

        thread = threading.Thread(target=run)
        thread.start()
        victim = None
        deadline = time.monotonic() + 30
        while victim is None and time.monotonic() < deadline:
            busy = [address for address, keys in client.processing().items() if keys and address in pids]
            if busy:
                time.sleep(0.2)  # well inside a shard
                victim = busy[0]
            else:
                time.sleep(0.02)
        assert victim is not None, "no shard was ever seen running"
        os.kill(pids[victim], signal.SIGKILL)
        thread.join(timeout=70)
        # The scheduler saw shards in flight on the dead worker (and so ran them again).
        rerun = client.run_on_scheduler(suspicious_shards)
        assert rerun >= 1, "the killed worker was not running a shard"
        assert not thread.is_alive(), "faultline.dask.map did not return"
        assert "error" not in result, result.get("error")
        outcomes = result["outcomes"]
        assert [o.value for o in outcomes] == inputs
        assert [o.input for o in outcomes] == inputs
        assert all(isinstance(o, Returned) for o in outcomes)
        # The killed worker was replaced by its nanny: a different process now.
        assert pids[victim] not in client.run(os.getpid).values()
    assert wait_for_no_faultline_process() == []
