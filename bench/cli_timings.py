#!/usr/bin/env python3
"""End-to-end timings of the real executable (process start included) and each command's peak memory.
Usage: cli_timings.py HUBLEDGER DIR SAMPLES [--only-reports]   (DIR/store and DIR/import.jsonl from `hubledger-bench generate`)
--only-reports times audit, referrals and watch --once only (no import, no history samples)."""
import json, os, random, re, resource, subprocess, sys, time

hl, d, samples = sys.argv[1], sys.argv[2], int(sys.argv[3])
only_reports = "--only-reports" in sys.argv[4:]
store = os.path.join(d, "store")

def run(args, env_store=store):
    """Runs one command under /usr/bin/time when present; returns (seconds, peak MiB, stdout)."""
    env = dict(os.environ, HUBLEDGER_STORE=env_store)
    timed = ["/usr/bin/time", "-f", "%M"] if os.path.exists("/usr/bin/time") else []
    start = time.perf_counter()
    p = subprocess.run(timed + [hl] + args, env=env, capture_output=True, text=True)
    t = time.perf_counter() - start
    peak = None
    if timed:
        m = re.findall(r"^(\d+)$", p.stderr, re.M)
        peak = round(int(m[-1]) / 1024, 1) if m else None
    return t, peak, p.stdout, p.returncode

def report(measure, **fields):
    print(json.dumps({"measure": measure, **fields}), flush=True)

def import_timing():
    """End-to-end JSONL import into an empty store: parse, check every rule, append durably."""
    imported = os.path.join(d, "imported")
    subprocess.run(["rm", "-rf", imported])
    # Freeing the imported store's blocks (hundreds of MB, discarded on this file system at the next
    # journal commit) is the harness's cleanup: done before the next timing's fdatasyncs wait behind it.
    subprocess.run(["sync"])
    subprocess.run([hl, "init", "--store", imported], capture_output=True)
    t, peak, _, rc = run(["import", os.path.join(d, "import.jsonl")], env_store=imported)
    events = sum(1 for _ in open(os.path.join(d, "import.jsonl")))
    # A refused import is no measure of importing: say so, and give no rate.
    if rc != 0: print(f"cli_timings.py: hubledger import refused {d}/import.jsonl (exit {rc})", file=sys.stderr)
    report("cli-import", events=events, eventsPerSecond=round(events / t) if rc == 0 else None, ok=rc == 0, exit=rc, peakRSSMiB=peak)
    subprocess.run(["rm", "-rf", imported])

def history_timings():
    head = json.loads(run(["verify", "--json"])[2])["head"]["position"]
    rounds = max(1, (head + 1) // 20000)
    rng = random.Random(7)
    times, peaks = [], []
    for _ in range(samples):
        p = "P-%04d-%d" % (rng.randrange(1, 1201), rng.randrange(rounds))
        t, peak, _, _ = run(["history", p, "--purpose", "benchmark"])
        times.append(t); peaks.append(peak or 0)
    times.sort()
    report("cli-history", samples=samples, p50ms=round(times[len(times) // 2] * 1000, 1),
           p99ms=round(times[min(len(times) - 1, len(times) * 99 // 100)] * 1000, 1), peakRSSMiB=max(peaks))

if not only_reports: import_timing()
run(["project"])  # read models caught up, as a running daemon keeps them
if not only_reports and samples > 0: history_timings()
for name, args in [("cli-audit", ["audit", "--json"]), ("cli-referrals", ["referrals", "--json"]),
                   ("cli-watch-once", ["watch", "--once", "--now", "2030-01-01T00:00:00Z"]), ("cli-verify", ["verify", "--json"])]:
    t, peak, _, rc = run(args)
    report(name, ms=round(t * 1000, 1), exit=rc, peakRSSMiB=peak)
