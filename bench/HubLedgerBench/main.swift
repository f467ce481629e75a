import EventStore
import Foundation
import HubDomain
import Projections

/// Measures the store and the projections through the library API (release build).
/// Usage: hubledger-bench [store|projections|all] [--events N] [--singles N] [--dir DIR]
let args = CommandLine.arguments
func option(_ name: String, _ fallback: Int) -> Int {
    guard let i = args.firstIndex(of: name), i + 1 < args.count, let v = Int(args[i + 1]) else { return fallback }
    return v
}
let events = option("--events", 1_000_000)
let singles = option("--singles", 5_000)
let mode = args.dropFirst().first { !$0.hasPrefix("--") && Int($0) == nil } ?? "all"
let base: String = {
    if let i = args.firstIndex(of: "--dir"), i + 1 < args.count { return args[i + 1] }
    return FileManager.default.temporaryDirectory.path + "/hubledger-bench-\(getpid())"
}()
let keep = args.contains("--keep")
if !keep { try? FileManager.default.removeItem(atPath: base) }
try FileManager.default.createDirectory(atPath: base, withIntermediateDirectories: true)
defer { if !keep { try? FileManager.default.removeItem(atPath: base) } }

func seconds(_ body: () throws -> Void) rethrows -> Double {
    let start = DispatchTime.now().uptimeNanoseconds
    try body()
    return Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
}
func rate(_ n: Int, _ s: Double) -> String { String(format: "%.0f", Double(n) / s) }
func peakRSSMiB() -> Double {
    var usage = rusage()
    getrusage(RUSAGE_SELF.rawValue, &usage)
    return Double(usage.ru_maxrss) / 1024
}
print("HubLedger benchmarks — \(ProcessInfo.processInfo.processorCount) cores, \(Date())")

/// ~300-byte events shaped like an attendance with a note.
func syntheticEvent(_ i: Int) -> ProposedEvent {
    ProposedEvent(stream: StreamID("participant-P-\(i % 5000)"), type: "AttendanceRecorded",
                  occurredAt: Timestamp(microseconds: 1_700_000_000_000_000 + Int64(i) * 1_000_000), actor: "bench",
                  data: ["participant": .string("P-\(i % 5000)"), "session": .string("S-\(i % 240)"),
                         "note": .string(String(repeating: "x", count: 120))])
}

/// The disk's own limit: 300-byte appends with fdatasync each, on a growing and on a preallocated file.
func diskProbe(count: Int, preallocate: Bool) -> Double {
    let path = base + "/probe-\(preallocate)"
    let fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0o600)
    defer { close(fd); unlink(path) }
    if preallocate { _ = posix_fallocate(fd, 0, off_t(count * 300 + 4096)); fsync(fd) }
    let buffer = [UInt8](repeating: 7, count: 300)
    let s = seconds {
        for i in 0..<count { _ = buffer.withUnsafeBytes { pwrite(fd, $0.baseAddress, 300, off_t(i * 300)) }; fdatasync(fd) }
    }
    return Double(count) / s
}

if mode == "rebuild" {
    // Only the one-pass rebuild, on a kept domain log (for profilers): bench/run projections --keep --dir D first.
    let log = try EventLog(path: base + "/domain")
    let events = Int((try log.head()?.position ?? -1) + 1)
    let fold = try seconds { _ = try ProjectionRunner(log: log).runAll(ProjectionRunner.all, limit: .position(Int64.max), useCheckpoint: false) }
    print("fold of all projections, no checkpoint written: \(String(format: "%.2f", fold)) s = \(rate(events, fold)) events/s (\(events) events)")
    let t = try seconds { _ = try ProjectionRunner(log: log).runAll(ProjectionRunner.all, useCheckpoint: false) }
    print("rebuild with checkpoints written: \(String(format: "%.2f", t)) s = \(rate(events, t)) events/s")
    exit(0)
}

if mode == "store" || mode == "all" {
    let probeGrowing = diskProbe(count: singles, preallocate: false)
    let probePrealloc = diskProbe(count: singles, preallocate: true)
    print("disk probe: 300-byte pwrite+fdatasync, growing file: \(String(format: "%.0f", probeGrowing))/s; preallocated: \(String(format: "%.0f", probePrealloc))/s (\(singles) writes each)")

    let singleLog = try EventLog.create(at: base + "/singles")
    let t1 = try seconds { for i in 0..<singles { let e = syntheticEvent(i); try singleLog.append([e], to: e.stream) } }
    print("durable single appends: \(rate(singles, t1)) appends/s (\(singles) appends, one fsync each) = \(String(format: "%.0f", 100 * Double(singles) / t1 / probePrealloc))% of the preallocated disk rate")

    let log = try EventLog.create(at: base + "/batched")
    var bytes = 0
    let batch = 1000
    var pending: [ProposedEvent] = []
    var appendTime = 0.0
    for i in 0..<events {
        pending.append(syntheticEvent(i))
        if pending.count == batch || i == events - 1 {
            let b = AppendBatch(events: pending)
            appendTime += try seconds { try log.append(b) }
            pending.removeAll(keepingCapacity: true)
        }
    }
    for name in (try FileManager.default.contentsOfDirectory(atPath: base + "/batched/segments")) {
        bytes += (try FileManager.default.attributesOfItem(atPath: base + "/batched/segments/" + name)[.size] as? Int) ?? 0
    }
    print("durable batched appends: \(rate(events, appendTime)) events/s (\(events) events in batches of \(batch); \(bytes / max(events, 1)) bytes/event on disk incl. preallocation)")
    var count = 0
    let tRead = try seconds { try log.forEach { _ in count += 1; return true } }
    print("full read (decode + CRC + links): \(rate(count, tRead)) events/s (\(count) events)")
    var report: VerificationReport?
    let tVerify = try seconds { report = try log.verify() }
    print("full verify (CRC + SHA-256 + links + versions): \(rate(report?.events ?? 0, tVerify)) events/s (\(report?.events ?? 0) events, ok=\(report?.isOK ?? false))")
    print(String(format: "peak RSS so far: %.0f MiB", peakRSSMiB()))
}

if mode == "projections" || mode == "all" {
    // A domain-shaped log: the demo's mix, repeated under different seeds until it reaches the size.
    let reuse = keep && FileManager.default.fileExists(atPath: base + "/domain/STORE")
    let log = reuse ? try EventLog(path: base + "/domain") : try EventLog.create(at: base + "/domain")
    var total = reuse ? Int((try log.head()?.position ?? -1) + 1) : 0
    var seed: UInt64 = 1
    var generation = 0
    let tImport = try seconds {
        while !reuse && total < min(events, 1_000_000) {
            let drafts = Demo(participants: 1200, seed: seed).drafts()
            // Rename ids so every round is a distinct hub network.
            let suffix = "-\(generation)"
            var proposals: [ProposedEvent] = []
            for d in drafts {
                var data = d.data
                for key in ["participant", "session", "referral", "concern"] { if let v = data[key]?.stringValue { data[key] = .string(v + suffix) } }
                let type = EventType(rawValue: d.type)
                let streamKey = type.flatMap { Schema.streamField(of: $0) }.flatMap { data[$0]?.stringValue }
                let stream = type?.entity.map { $0.stream(streamKey ?? "x") } ?? "corrections\(suffix)"
                proposals.append(ProposedEvent(id: DerivedID.make("bench", suffix, d.id?.uuidString ?? ""), stream: StreamID(stream), type: d.type,
                                               occurredAt: Timestamp(rfc3339: d.occurredAt) ?? Timestamp(microseconds: 0), actor: "bench", data: data))
            }
            try log.append(AppendBatch(events: proposals))
            total += proposals.count
            seed += 1; generation += 1
        }
    }
    print("domain log: \(total) events written in \(String(format: "%.1f", tImport)) s")
    let runner = ProjectionRunner(log: log)
    try runner.discardCheckpoints()
    let tRebuild = try seconds {
        _ = try runner.runAll(ProjectionRunner.all)
    }
    print("rebuild of all four projections (one pass, checkpoints saved): \(rate(total, tRebuild)) events/s (\(total) events, \(String(format: "%.1f", tRebuild)) s)")
    for type in ProjectionRunner.all {
        let t = try seconds { _ = try runner.runAll([type], useCheckpoint: false) }
        print("  rebuild of \(type.name) alone: \(rate(total, t)) events/s")
    }
    var scanned = 0
    let tScan = try seconds { try log.forEach { event in if DomainEvent(event) != nil { scanned += 1 }; return true } }
    print("  read + decode to domain events only: \(rate(total, tScan)) events/s")
    var samples: [Double] = []
    for i in 0..<100 {
        let participant = "P-\(String(format: "%04d", 1 + (i * 37) % 1200))-\(i % max(generation, 1))"
        samples.append(try seconds {
            let folded = try runner.run(ChronologyProjection.self)
            _ = try folded.model.chronology(of: participant) { try log.events(inStreamsEndingAt: $0) }
        })
    }
    samples.sort()
    print(String(format: "history of one participant (checkpoint load + catch-up + chronology, in-process): p50 %.1f ms, p99 %.1f ms (100 samples)", samples[50] * 1000, samples[99] * 1000))
    print(String(format: "peak RSS: %.0f MiB", peakRSSMiB()))
}
