import FaultlineBenchResult
import Faultline
import FaultlineHarness
#if canImport(Glibc)
import Glibc
#endif

/// The Python peers: what a Python program gets on the same library, with
/// pebble's ProcessPool (if importable), the standard ProcessPoolExecutor
/// (non-faulting calls only: one crash breaks that pool for good), and one
/// `os.fork` per call. Measured by a small script of our own, embedded here
/// and run with `python3 -c` under a deadline; the figures are a ``PeerReport``.
/// Runs the Python peers.
enum Peers {
    /// The peers, in table order.
    static let names = PeerReport.tableOrder

    /// Finds python3 on PATH, runs the script with `phaseSeconds` per
    /// measurement, and parses its `FLBENCH` lines. Never throws: whatever
    /// goes wrong becomes the report's `unavailable` reason.
    static func measure(library: String, phaseSeconds: Double, workers: Int) -> PeerReport {
        var report = PeerReport()
        guard let python = findOnPath("python3") else {
            report.unavailable = "not available: no python3 on PATH"
            return report
        }
        let arguments = ["-c", script, library, String(phaseSeconds), String(workers)]
        // 7 measurements of two halves each, pool start-ups, and slack.
        let deadline = phaseSeconds * 16 + 60
        let process: ChildProcess
        let status: ExitStatus?
        do {
            (process, status) = try BenchChildren.run(python, arguments, timeout: deadline)
        } catch {
            report.unavailable = "not available: cannot start python3: \(error)"
            return report
        }
        var byPeer: [String: [(String, WorkloadCell)]] = [:]
        var figures: [String: [String: Double]] = [:] // "peer workload" → key → value
        var order: [String] = []
        for line in process.standardOutput.split(separator: "\n") where line.hasPrefix("FLBENCH ") {
            let parts = line.split(separator: " ", maxSplits: 4).map(String.init)
            guard parts.count >= 3 else { continue }
            switch parts[1] {
            case "python":
                report.python = parts.dropFirst(2).joined(separator: " ")
            case let peer where parts[2] == "unavailable":
                byPeer[peer] = [("*", .skipped("not available: " + parts.dropFirst(3).joined(separator: " ")))]
            case let peer:
                guard parts.count == 5, let value = Double(parts[4]) else { continue }
                let key = "\(peer) \(parts[2])"
                if figures[key] == nil { order.append(key) }
                figures[key, default: [:]][parts[3]] = value
            }
        }
        for key in order {
            let names = key.split(separator: " ").map(String.init)
            let values = figures[key] ?? [:]
            guard let rate = values["calls_per_second"], let p50 = values["p50_ns"], let p99 = values["p99_ns"] else { continue }
            let latency = LatencySummary(count: Int(values["samples"] ?? 0), p50: p50, p99: p99,
                                         mean: values["mean_ns"] ?? p50, max: values["max_ns"] ?? p99)
            let measurement = WorkloadFigures(callsPerSecond: rate, latency: latency, calls: Int(values["calls"] ?? 0),
                                          batch: 1, faults: Int(values["faults"] ?? 0))
            byPeer[names[0], default: []].append((names[1], .measured(measurement)))
        }
        if status == nil {
            report.unavailable = byPeer.isEmpty ? "not available: the Python peers passed their deadline of \(Int(deadline)) s" : nil
        } else if byPeer.isEmpty {
            let lastError = process.standardError.split(separator: "\n").last.map(String.init) ?? "no output"
            report.unavailable = "not available: the Python peers failed (\(status!)): \(lastError)"
        }
        for name in names {
            if let workloads = byPeer[name] {
                report.peers.append((name, workloads))
            } else if report.unavailable == nil {
                report.peers.append((name, [("*", .skipped("not available: not measured (python ended early?)"))]))
            }
        }
        return report
    }

    /// The first executable `name` in a folder of PATH.
    static func findOnPath(_ name: String) -> String? {
        guard let path = getenv("PATH").map({ String(cString: $0) }) else { return nil }
        for folder in path.split(separator: ":") where !folder.isEmpty {
            let candidate = "\(folder)/\(name)"
            if access(candidate, X_OK) == 0 { return candidate }
        }
        return nil
    }

    /// The peers script. argv: library, seconds per measurement, workers.
    /// Prints `FLBENCH <peer> <workload> <key> <value>` lines on stdout and
    /// `FLBENCH <peer> unavailable <reason>` when a peer cannot run. The mixed
    /// inputs follow the rule of ``Workload/mixedInputs(fraction:kinds:count:)``.
    static let script = #"""
import ctypes, math, os, struct, sys, time

LIB = sys.argv[1]
PHASE = float(sys.argv[2])
WORKERS = int(sys.argv[3])
LENGTH = 1000
KINDS = [-1, -2, -3, -4, -5, -6, -7]

def emit(*parts):
    print("FLBENCH " + " ".join(str(p) for p in parts), flush=True)

def mixed_inputs(fraction):
    out, k = [], 0
    for i in range(LENGTH):
        if math.floor((i + 1) * fraction) > math.floor(i * fraction):
            out.append(KINDS[k % len(KINDS)])
            k += 1
        else:
            out.append(i)
    return out

WORKLOADS = {"identity": list(range(LENGTH)), "mixed_5": mixed_inputs(5 / 100), "mixed_25": mixed_inputs(25 / 100)}

_functions = {}
def _function(name):
    f = _functions.get(name)
    if f is None:
        f = getattr(ctypes.CDLL(LIB), name)
        f.argtypes = [ctypes.c_int]
        f.restype = ctypes.c_int
        _functions[name] = f
    return f

def call_identity(x):
    return _function("fl_identity")(x)

def call_mixed(x):
    return _function("fl_mixed")(x)

def function_for(workload):
    return call_identity if workload == "identity" else call_mixed

def percentile(sorted_values, fraction):
    rank = math.ceil(fraction * len(sorted_values))
    return sorted_values[max(0, min(len(sorted_values) - 1, rank - 1))]

def report(peer, workload, rates, samples, calls, faults):
    samples.sort()
    rates.sort()
    emit(peer, workload, "calls_per_second", rates[len(rates) // 2])
    emit(peer, workload, "p50_ns", percentile(samples, 0.5))
    emit(peer, workload, "p99_ns", percentile(samples, 0.99))
    emit(peer, workload, "mean_ns", sum(samples) / len(samples))
    emit(peer, workload, "max_ns", samples[-1])
    emit(peer, workload, "samples", len(samples))
    emit(peer, workload, "calls", calls)
    emit(peer, workload, "faults", faults)

def measure(peer, workload, run_chunk, run_one, chunk=100, rounds=3):
    """Half the time in chunks (throughput), half one call at a time (latency)."""
    inputs = WORKLOADS[workload]
    position, calls, faults, rates = 0, 0, 0, []
    for _ in range(rounds):
        start = time.perf_counter_ns()
        round_calls = 0
        while True:
            part = [inputs[(position + i) % LENGTH] for i in range(chunk)]
            position = (position + chunk) % LENGTH
            faults += run_chunk(part)
            round_calls += chunk
            elapsed = time.perf_counter_ns() - start
            if elapsed >= PHASE / 2 / rounds * 1e9:
                break
        rates.append(round_calls / (elapsed / 1e9))
        calls += round_calls
    samples = []
    start = time.perf_counter_ns()
    while not samples or time.perf_counter_ns() - start < PHASE / 2 * 1e9:
        x = inputs[position]
        position = (position + 1) % LENGTH
        before = time.perf_counter_ns()
        if not run_one(x):
            faults += 1
        samples.append(time.perf_counter_ns() - before)
        calls += 1
    report(peer, workload, rates, samples, calls, faults)

def fork_call(function, x):
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:
        try:
            os.close(read_end)
            os.write(write_end, struct.pack("i", function(x)))
        finally:
            os._exit(0)
    os.close(write_end)
    data = os.read(read_end, 4)
    os.close(read_end)
    _, status = os.waitpid(pid, 0)
    return os.WIFEXITED(status) and os.WEXITSTATUS(status) == 0 and len(data) == 4

def python_fork():
    for workload in ("identity", "mixed_5", "mixed_25"):
        function = function_for(workload)
        function(0)  # loaded before forking, like a real program would
        measure("python_fork", workload,
                lambda part: sum(0 if fork_call(function, x) else 1 for x in part),
                lambda x: fork_call(function, x), chunk=20)

def pebble_pool():
    try:
        from pebble import ProcessPool
    except Exception as error:
        emit("pebble", "unavailable", "pebble is not importable (" + type(error).__name__ + "); run scripts/setup --peers")
        return
    pool = ProcessPool(max_workers=WORKERS)
    def result(future):
        try:
            future.result()
            return True
        except Exception:
            return False
    try:
        for future in [pool.schedule(call_identity, args=(x,)) for x in range(WORKERS * 4)]:
            result(future)
        for workload in ("identity", "mixed_5", "mixed_25"):
            function = function_for(workload)
            measure("pebble", workload,
                    lambda part: sum(0 if result(f) else 1 for f in [pool.schedule(function, args=(x,)) for x in part]),
                    lambda x: result(pool.schedule(function, args=(x,))))
    finally:
        pool.stop()
        pool.join(timeout=10)

def process_pool_executor():
    from concurrent.futures import ProcessPoolExecutor
    with ProcessPoolExecutor(max_workers=WORKERS) as executor:
        list(executor.map(call_identity, range(WORKERS * 4)))
        measure("process_pool_executor", "identity",
                lambda part: len(list(executor.map(call_identity, part))) * 0,
                lambda x: executor.submit(call_identity, x).result() == x)

emit("python", sys.version.split()[0])
python_fork()  # first, while this process has no threads
pebble_pool()
process_pool_executor()
"""#
}
