#!/usr/bin/env python3
"""Turns bench/run's JSON lines into the table it prints and bench/RESULTS.md."""
import datetime, json, os, sys

path, cores = sys.argv[1], sys.argv[2]
target = sys.argv[3] if len(sys.argv) > 3 and sys.argv[3] != "--quick" else None
rows = [json.loads(l) for l in open(path) if l.strip().startswith("{")]
by = {}
for r in rows: by.setdefault((r["size"], r["measure"]), []).append(r)
for key, runs in list(by.items()):
    # A measure run several times (rebuild, single appends, the disk probe) is reported by its median run, with every run's figure and the highest peak.
    rate = next((k for k in ("eventsPerSecond", "appendsPerSecond", "fdatasyncsPerSecond") if all(k in r for r in runs)), None)
    if len(runs) > 1 and rate:
        ordered = sorted(runs, key=lambda r: r[rate])
        median = dict(ordered[len(ordered) // 2])
        median["runs"] = [r[rate] for r in runs]
        median["peakRSSMiB"] = max(r.get("peakRSSMiB", 0) for r in runs)
        by[key] = median
    else:
        by[key] = runs[-1]
sizes, populations = [], []
for r in rows:
    if r["size"].startswith(("growth:", "control:")): continue
    group = populations if r["size"].startswith("people-") else sizes
    if r["size"] not in group: group.append(r["size"])

def get(size, measure, key):
    r = by.get((size, measure)); return None if r is None else r.get(key)

def runs_of(size, measure):
    runs = get(size, measure, "runs")
    return f" (median of {len(runs)}, taking turns: {' / '.join(fmt(v) for v in runs)})" if runs else ""

def fmt(v, unit=""):
    if v is None: return "—"
    if isinstance(v, float) and v < 100: return f"{v:,.2f}{unit}"
    return f"{v:,.0f}{unit}"

def ratio(a, b):
    return "—" if not a or not b else f"{a / b:.1f}×"

lines = [f"# HubLedger benchmark results", "",
         f"{datetime.date.today().isoformat()}, {cores} cores, release build. Produced by `bench/run`"
         f"{' --quick (smoke run: numbers are not meaningful)' if target is None else ''}; every figure below was measured in that one run.", ""]
for size in sizes:
    n = get(size, "batched-append", "events")
    lines += [f"## {size}: {fmt(n)} events of the domain mix", "",
              "| operation | HubLedger | SQLite (WAL, synchronous=FULL) | HubLedger ÷ SQLite | peak RSS MiB |", "|---|---|---|---|---|"]
    lines.append(f"| durable batched append, 1,000 per batch (events/s) | {fmt(get(size,'batched-append','eventsPerSecond'))}{runs_of(size, 'batched-append').replace('taking turns', 'around SQLite’s insert')} | {fmt(get(size,'sqlite-batched-insert','eventsPerSecond'))} | {ratio(get(size,'batched-append','eventsPerSecond'), get(size,'sqlite-batched-insert','eventsPerSecond'))} | {fmt(get(size,'batched-append','peakRSSMiB'))} |")
    imported = get(size, 'cli-import', 'ok')
    rate_text = fmt(get(size, 'cli-import', 'eventsPerSecond')) if imported is not False else f"REFUSED (exit {get(size, 'cli-import', 'exit')}): not a measure"
    lines.append(f"| end-to-end `hubledger import` of the JSONL, every rule checked (events/s) | {rate_text} | — | — | {fmt(get(size,'cli-import','peakRSSMiB'))} |")
    runs = get(size, 'rebuild', 'runs')
    runs_note = f" (median of {len(runs)} runs: {' / '.join(fmt(v) for v in runs)})" if runs else ""
    scans = get(size, 'sqlite-scan-json', 'runs')
    scans_note = f" (median of {len(scans)}: {' / '.join(fmt(v) for v in scans)})" if scans else ""
    lines.append(f"| rebuild of every projection from position 0 vs SQLite ordered scan + json.loads, taking turns (events/s) | {fmt(get(size,'rebuild','eventsPerSecond'))}{runs_note} | {fmt(get(size,'sqlite-scan-json','eventsPerSecond'))}{scans_note} | {ratio(get(size,'rebuild','eventsPerSecond'), get(size,'sqlite-scan-json','eventsPerSecond'))} | {fmt(get(size,'rebuild','peakRSSMiB'))} |")
    lines.append(f"| full read, decode + CRC + links (events/s) | {fmt(get(size,'read','eventsPerSecond'))}{runs_of(size, 'read')} | — | — | {fmt(get(size,'read','peakRSSMiB'))} |")
    lines.append(f"| full verify, CRC + SHA-256 + links (events/s) | {fmt(get(size,'verify','eventsPerSecond'))}{runs_of(size, 'verify')} | — | — | {fmt(get(size,'verify','peakRSSMiB'))} |")
    lines.append(f"| catch-up of 1,000 new events from checkpoints (ms) | {fmt(get(size,'catch-up','ms'))} | — | — | {fmt(get(size,'catch-up','peakRSSMiB'))} |")
    lines.append(f"| `history`, in-process with the model held, p50 / p99 (ms) | {fmt(get(size,'history-in-process','p50ms'))} / {fmt(get(size,'history-in-process','p99ms'))} | one stream by index: {fmt(get(size,'sqlite-one-stream','ms'))} | — | {fmt(get(size,'history-in-process','peakRSSMiB'))} |")
    lines.append(f"| `history`, in-process loading the checkpoint each time, p50 / p99 (ms) | {fmt(get(size,'history-in-process','reloadedP50ms'))} / {fmt(get(size,'history-in-process','reloadedP99ms'))} | — | — | — |")
    lines.append(f"| `hubledger history`, end to end p50 / p99 (ms) | {fmt(get(size,'cli-history','p50ms'))} / {fmt(get(size,'cli-history','p99ms'))} | — | — | {fmt(get(size,'cli-history','peakRSSMiB'))} |")
    for m, label in [("cli-audit", "`hubledger audit`"), ("cli-referrals", "`hubledger referrals`"), ("cli-watch-once", "`hubledger watch --once`"), ("cli-verify", "`hubledger verify`")]:
        lines.append(f"| {label}, end to end (ms) | {fmt(get(size, m, 'ms'))} | — | — | {fmt(get(size, m, 'peakRSSMiB'))} |")
    lines.append("")
if populations:
    lines += ["## Memory with a fixed population", "",
              "The same people year after year (`generate --people`): the log grows, the people do not. Peak RSS of",
              "each process; the read models keep people, sessions, referrals and concerns, not attendances or surveys.", "",
              "| log | events | people | rebuild (events/s) | rebuild peak RSS MiB | `audit` ms / MiB | `referrals` ms / MiB | `watch --once` ms / MiB |",
              "|---|---|---|---|---|---|---|---|"]
    for size in populations:
        cells = [f"{fmt(get(size, m, 'ms'))} / {fmt(get(size, m, 'peakRSSMiB'))}" for m in ("cli-audit", "cli-referrals", "cli-watch-once")]
        lines.append(f"| {size} | {fmt(get(size,'batched-append','events'))} | {fmt(get(size,'batched-append','people'))} | "
                     f"{fmt(get(size,'rebuild','eventsPerSecond'))} | {fmt(get(size,'rebuild','peakRSSMiB'))} | " + " | ".join(cells) + " |")
    if len(populations) >= 2:
        a, b = get(populations[0], "rebuild", "peakRSSMiB"), get(populations[-1], "rebuild", "peakRSSMiB")
        n0, n1 = get(populations[0], "batched-append", "events"), get(populations[-1], "batched-append", "events")
        lines += ["", f"Events grew {ratio(n1, n0)}; rebuild memory grew {ratio(b, a)}."]
    lines.append("")
last = sizes[-1]
single, probe = get(last, "single-append", "appendsPerSecond"), get(last, "disk-probe", "fdatasyncsPerSecond")
sqlite_single = get(last, "sqlite-single-insert", "appendsPerSecond")
# Each run interleaves its appends with the probe's writes (every 250), so a run's own ratio compares the
# same seconds of the disk: the median of those is the figure, not the ratio of two medians.
pairs = [(r["appendsPerSecond"], p["fdatasyncsPerSecond"]) for r, p in zip(
    [r for r in rows if r["size"] == last and r["measure"] == "single-append"],
    [r for r in rows if r["size"] == last and r["measure"] == "disk-probe"])]
run_ratios = sorted(a / b for a, b in pairs if b)
probe_ratio = (f"{run_ratios[len(run_ratios) // 2]:.2f}× of the disk probe (median of the runs' own ratios: "
               + " / ".join(f"{x:.2f}" for x in run_ratios) + ")") if run_ratios else "—"
lines += ["## Single durable appends and the disk", "",
          "| measure | per second | ratio |", "|---|---|---|",
          f"| HubLedger single append, one fdatasync each, taking turns with the probe every 250 writes{runs_of(last, 'single-append')} | {fmt(single)} | {probe_ratio}, {ratio(single, sqlite_single)} SQLite |",
          f"| SQLite one-row transaction{runs_of(last, 'sqlite-single-insert')} | {fmt(sqlite_single)} | |",
          f"| disk probe: 300-byte pwrite + fdatasync, preallocated{runs_of(last, 'disk-probe')} | {fmt(probe)} | |",
          f"| disk: sequential read of the segments (MB/s, page cache permitting) | {fmt(get(last,'disk-probe','sequentialReadMBPerSecond'))} | |", ""]
def med(v):
    """The median of sorted values."""
    return v[len(v) // 2] if len(v) % 2 else (v[len(v) // 2 - 1] + v[len(v) // 2]) / 2

def below_control(ratios, control):
    """One-sided exact Mann–Whitney test: the probability, were the larger log's ratios drawn like the
    control's (the smaller log measured against itself), of ratios this low or lower. Small means the
    larger log is really slower per event; large means the difference is this machine's noise. U counts
    the pairs in which a ratio lies below a control's (a tie counts half); its distribution under the
    null comes from the usual recursion over arrangements (ties, rare in three decimals, are not corrected)."""
    n, m = len(ratios), len(control)
    observed = sum((x < y) + 0.5 * (x == y) for x in ratios for y in control)
    # ways[i][j][u]: arrangements of i and j values in which U = u.
    from functools import lru_cache
    @lru_cache(maxsize=None)
    def ways(i, j, u):
        if u < 0 or u > i * j: return 0
        if i == 0 or j == 0: return 1 if u == 0 else 0
        # The largest value is a ratio (it lies below none of the j controls) or a control (above all i ratios).
        return ways(i - 1, j, u) + ways(i, j - 1, u - i)
    total = sum(ways(n, m, u) for u in range(n * m + 1))
    return sum(ways(n, m, u) for u in range(n * m + 1) if u >= observed) / total

def growth_verdict(ratios, control, samples=None):
    """What sorted ratios (larger ÷ smaller) say of the bar, linear or better: a median of 1.0 or more, or
    samples (the ratios themselves unless finer ones are given) no lower than the control's — the smaller
    log measured against itself — by the test above at 5 %. Fewer than five of either cannot reach 5 %."""
    if med(ratios) >= 1.0: return "linear or better"
    samples, control = sorted(samples if samples is not None else ratios), sorted(control)
    if len(control) >= 5 and len(samples) >= 5:
        p = below_control(samples, control)
        spread = f"control {med(control):.2f} ({control[0]:.2f}–{control[-1]:.2f})"
        if p >= 0.05:
            return f"linear: not below the smaller log against itself ({spread}; one-sided Mann–Whitney p = {p:.2f}, {len(samples)} and {len(control)} ratios)"
        return f"below linear: lower than the smaller log against itself ({spread}; one-sided Mann–Whitney p = {p:.3f}, {len(samples)} and {len(control)} ratios)"
    return "below 1.0 in the median; some runs above" if ratios[-1] >= 1.0 else "below 1.0 in every run"

def growth_lines(small, big):
    """The growth from `small` to `big`, from bench/run's runs in turns (small, big, small, ..., small):
    each run on the big log is compared with the mean of the small runs either side of it, so that a
    drift of the machine's speed cancels, and every such ratio is kept. The control is each small run
    against the one before it: how far two runs of one log measure apart here."""
    out = []
    for m in ["batched-append", "verify", "read", "rebuild"]:
        a = [r for r in rows if r["size"] == "growth:" + small and r["measure"] == m]
        b = [r for r in rows if r["size"] == "growth:" + big and r["measure"] == m]
        if len(a) < len(b) + 1 or not b:
            continue
        rate = lambda r: r["eventsPerSecond"]
        cpu_rate = lambda r: r["events"] / r["cpuSeconds"] if r.get("cpuSeconds") else None
        wall = sorted(rate(y) / ((rate(a[k]) + rate(a[k + 1])) / 2) for k, y in enumerate(b))
        control = sorted(rate(a[k + 1]) / rate(a[k]) for k in range(len(a) - 1))
        # Events per CPU second (every thread, user and system): the program's own work, without the disk's waits.
        cpu = sorted(cpu_rate(y) / ((cpu_rate(a[k]) + cpu_rate(a[k + 1])) / 2) for k, y in enumerate(b)
                     if cpu_rate(y) and cpu_rate(a[k]) and cpu_rate(a[k + 1]))
        verdict = growth_verdict(wall, control)
        out.append(f"| {m} | {fmt(a[0].get('events'))} → {fmt(b[0].get('events'))} | {med(wall):.2f}× | {' / '.join(f'{x:.2f}' for x in wall)} | "
                   + (f"{med(cpu):.2f}× ({cpu[0]:.2f}–{cpu[-1]:.2f})" if cpu else "—") + f" | {' / '.join(f'{x:.2f}' for x in control)} | {verdict} |")
    turns = [r for r in rows if r["size"] == "growth:" + small and r["measure"] == "append-turns"]
    if turns:
        ratios = sorted(r["ratio"] for r in turns)
        cpus = sorted(r["cpuRatio"] for r in turns)
        controls = [r for r in rows if r["size"] == "control:" + small and r["measure"] == "append-turns"]
        control = sorted(r["ratio"] for r in controls)
        # The test takes each run's ratios of ten batches at a time (five a run): three runs of each side are too few.
        chunks = sorted(x for r in turns for x in r.get("chunkRatios", []))
        control_chunks = sorted(x for r in controls for x in r.get("chunkRatios", []))
        t = turns[0]
        verdict = growth_verdict(ratios, control_chunks, samples=chunks)
        out.append(f"| one batched append at each length, a batch to each log in turn ({t['batches']} timed each, after as many untimed) | "
                   f"{fmt(t['smallEvents'])} → {fmt(t['largeEvents'])} | {med(ratios):.2f}× | {' / '.join(f'{x:.2f}' for x in ratios)} | "
                   f"{med(cpus):.2f}× ({cpus[0]:.2f}–{cpus[-1]:.2f}) | {' / '.join(f'{x:.2f}' for x in control) or '—'} | {verdict} |")
    return out

# The logs measured in turns (bench/run's GROWTH), smallest first: the domain mix's and the fixed population's.
grown = list(dict.fromkeys(r["size"][len("growth:"):] for r in rows if r["size"].startswith("growth:")))
pairs = [(g[0], g[-1]) for g in ([x for x in grown if not x.startswith("people-")], [x for x in grown if x.startswith("people-")]) if len(g) >= 2]
if pairs:
    lines += ["## Growth", "",
              "Events per second at the larger log ÷ at the smaller: 1.0 means time grows linearly with the log, above 1",
              "better. This machine's speed wanders by up to 2× over minutes and by a third from one run to the next, which",
              "swamped ratios of runs measured minutes apart; so each measure runs the smaller log, the larger, the smaller,",
              "… (`bench/run`'s last phase: five runs of the larger, one with --quick), each run of the larger is compared",
              "with the mean of the two runs of the smaller either side of it, and the figure is the median of those",
              "ratios. The CPU column is the same ratio of events per CPU second (every thread, user and system): the",
              "program's own work, without waits for the disk. The last row of each table compares the cost of one",
              "batched append to each log, a batch to one and then to the other (`hubledger-bench append-turns`, three",
              "runs; work done once per doubling of the log, such as the id filter rebuilt larger, falls outside its",
              "timed batches, and the whole runs above count it): time that grows linearly with the log is an",
              "append whose cost does not grow with it.",
              "",
              "Each row has its control: the smaller log measured against itself the same way (for the whole runs, each",
              "run of the smaller log ÷ the one before it; for one batched append, `append-turns` with a copy of the smaller",
              "log on both sides, three runs, tested on their ratios of ten batches at a time). A median below 1.0 is",
              "called below linear only when its ratios are lower than the control's by a one-sided exact Mann–Whitney",
              "test at 5 % (five or more of each): otherwise the two logs cannot be told apart on this machine, and the",
              "growth is linear within what it can measure.", ""]
    for small, big in pairs:
        label = "the same 12,000 people, one year and six" if small.startswith("people-") else "the domain mix, 1,200 new people every 20,000 events"
        lines += [f"**{small} → {big}** ({label}):", "",
                  "| measure | events | events/s ratio, median | each run of the larger | events per CPU second ratio, median (range) | control: the smaller against itself | |",
                  "|---|---|---|---|---|---|---|"] + growth_lines(small, big) + [""]
text = "\n".join(lines)
print(text)
if target:
    # The hand-written profile notes follow the measured tables.
    notes = os.path.join(os.path.dirname(os.path.abspath(target)), "PROFILE.md")
    extra = "\n" + open(notes).read() if os.path.exists(notes) else ""
    open(target, "w").write(text + "\n" + extra)
# A refused import means the benchmark's own data is wrong (and its figure no measure): fail the run,
# --quick in CI included, rather than publish it.
refused = [r["size"] for r in rows if r["measure"] == "cli-import" and r.get("ok") is False]
if refused:
    print(f"report.py: `hubledger import` refused the generated import.jsonl of {', '.join(refused)}", file=sys.stderr)
    sys.exit(1)
