#!/usr/bin/env python3
"""The peer: the same events in an SQLite table, as a user would keep them instead.

WAL journal, synchronous=FULL, UNIQUE(id) and UNIQUE(stream, stream_version).
Usage: sqlite_peer.py EVENTS.jsonl WORKDIR [SINGLES]   (prints one JSON line per measure; SINGLES 0: none)
       sqlite_peer.py --scan WORKDIR                  (the ordered scan again, over WORKDIR/peer.db)
       sqlite_peer.py --singles EVENTS.jsonl WORKDIR N (only the one-row transactions, of the first N events)
"""
import json, os, resource, sqlite3, sys, time

def report(measure, **fields):
    fields = {"measure": measure, **fields, "peakRSSMiB": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)}
    print(json.dumps(fields), flush=True)

def scan(db):
    """The ordered full scan with json.loads of every payload: what a rebuild is measured against."""
    start = time.perf_counter()
    n = 0
    for (data,) in db.execute("SELECT data FROM events ORDER BY position"):
        json.loads(data)
        n += 1
    t = time.perf_counter() - start
    report("sqlite-scan-json", events=n, eventsPerSecond=round(n / t))

def read_rows(path, limit=None):
    rows = []
    with open(path) as f:
        for line in f:
            if limit is not None and len(rows) >= limit: break
            e = json.loads(line)
            rows.append((e["id"], e["stream"], e["streamVersion"], e["type"], e["occurredAt"], json.dumps(e["data"], separators=(",", ":"))))
    return rows

def connect(path):
    for suffix in ("", "-wal", "-shm"):
        if os.path.exists(path + suffix): os.unlink(path + suffix)
    db = sqlite3.connect(path, isolation_level=None)
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("PRAGMA synchronous=FULL")
    db.execute("CREATE TABLE events (position INTEGER PRIMARY KEY, id TEXT NOT NULL UNIQUE, stream TEXT NOT NULL, "
               "stream_version INTEGER NOT NULL, type TEXT NOT NULL, occurred_at TEXT NOT NULL, data TEXT NOT NULL, "
               "UNIQUE(stream, stream_version))")
    return db

insert = "INSERT INTO events (id, stream, stream_version, type, occurred_at, data) VALUES (?, ?, ?, ?, ?, ?)"

def single_inserts(sample, work):
    """One-row transactions, one fsync each: what a single durable append is measured against."""
    db = connect(os.path.join(work, "peer-singles.db"))
    start = time.perf_counter()
    for r in sample:
        db.execute("BEGIN")
        db.execute(insert, r)
        db.execute("COMMIT")
    t = time.perf_counter() - start
    report("sqlite-single-insert", appends=len(sample), appendsPerSecond=round(len(sample) / t))
    db.close()

if sys.argv[1] == "--singles":
    # bench/run takes turns between these and HubLedger's single appends (the disk's rate wanders).
    single_inserts(read_rows(sys.argv[2], int(sys.argv[4])), sys.argv[3])
    sys.exit(0)

if sys.argv[1] == "--scan":
    # One more scan of the table a full run left at WORKDIR/peer.db (bench/run alternates these with
    # HubLedger's rebuilds: the machine's speed wanders from minute to minute).
    scan(sqlite3.connect(os.path.join(sys.argv[2], "peer.db")))
    sys.exit(0)

events_path, work = sys.argv[1], sys.argv[2]
singles = int(sys.argv[3]) if len(sys.argv) > 3 else 5000
rows = read_rows(events_path)
db = connect(os.path.join(work, "peer.db"))
start = time.perf_counter()
for i in range(0, len(rows), 1000):
    db.execute("BEGIN")
    db.executemany(insert, rows[i:i + 1000])
    db.execute("COMMIT")
t = time.perf_counter() - start
report("sqlite-batched-insert", events=len(rows), batch=1000, eventsPerSecond=round(len(rows) / t))

scan(db)

stream = rows[len(rows) // 2][1]
start = time.perf_counter()
reps = 200
for _ in range(reps):
    got = [json.loads(d) for (d,) in db.execute("SELECT data FROM events WHERE stream = ? ORDER BY stream_version", (stream,))]
t = time.perf_counter() - start
report("sqlite-one-stream", events=len(got), ms=round(t / reps * 1000, 3))
db.close()

if singles > 0: single_inserts(rows[:singles], work)
