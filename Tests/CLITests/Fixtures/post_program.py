import json
import subprocess
import sys


def call_all(library, symbol, signature, inputs):
    """Calls `symbol` once per input in faultline's worker processes: one outcome per input, in order."""
    lines = "".join(json.dumps(values) + "\n" for values in inputs)
    done = subprocess.run(
        ["faultline", "call", library, symbol, "--signature", signature],
        input=lines, capture_output=True, text=True, timeout=60)
    if done.returncode != 0:  # 2: a bad flag, signature, library or input; stderr says which, in one line
        raise RuntimeError(done.stderr.strip())
    return [json.loads(line) for line in done.stdout.splitlines()]


library = sys.argv[1] if len(sys.argv) > 1 else "./libFaultlineVictims.so"
texts = ["short", "crash", "a longer text"]
for text, outcome in zip(texts, call_all(library, "fl_sig_crash_on", "int32(string)", [[t] for t in texts])):
    if outcome["outcome"] == "returned":
        print(repr(text), "->", "returned", outcome["value"])
    else:
        print(repr(text), "->", outcome["outcome"], outcome.get("signal", ""))
