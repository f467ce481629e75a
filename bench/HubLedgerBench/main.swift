import EventStore
import Foundation
import HubDomain
import Projections

/// Measurements of HubLedger through its libraries (release build). `bench/run` drives it, one
/// measurement per process so that each reports its own peak memory, and prints every result as
/// one JSON line: {"measure", inputs…, results…, "peakRSSMiB"}.
///
///   hubledger-bench generate --dir D --events N [--people P]
///                                                 domain-mix log in D/store and D/events.jsonl (batched durable appends); with
///                                                 --people, the same P people year after year instead of 1,200 new ones per round
///   hubledger-bench singles  --dir D --count N [--slice K]
///                                                 durable single appends to a fresh store, taking turns every K with
///                                                 the disk probe (300-byte pwrite+fdatasync); then a sequential read
///   hubledger-bench append   --dir D              D/events.jsonl appended again to a fresh store (batched durable appends)
///   hubledger-bench append-turns --dir SMALL --large LARGE [--batches N]
///                                                 batched appends to copies of both logs, a batch to each in turn
///   hubledger-bench verify   --dir D              full verify
///   hubledger-bench read     --dir D              full read
///   hubledger-bench rebuild  --dir D [--only NAME] every projection (or one) from position 0, checkpoints written
///   hubledger-bench catchup  --dir D --count N    append N events, catch every projection up from its checkpoint
///   hubledger-bench history  --dir D --count N    history of random participants, in-process
let arguments = Array(CommandLine.arguments.dropFirst())
let command = arguments.first ?? "help"
func option(_ name: String) -> String? {
    guard let i = arguments.firstIndex(of: name), i + 1 < arguments.count else { return nil }
    return arguments[i + 1]
}
func intOption(_ name: String, _ fallback: Int) -> Int { option(name).flatMap(Int.init) ?? fallback }
func stringOption(_ name: String) -> String? { option(name) }
let dir = option("--dir") ?? FileManager.default.temporaryDirectory.path + "/hubledger-bench"

func seconds(_ body: () throws -> Void) rethrows -> Double {
    let start = DispatchTime.now().uptimeNanoseconds
    try body()
    return Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
}
/// CPU time of the whole process (every thread, user and system) so far: beside the wall-clock time,
/// it separates the program's own work from waiting for the disk or for a busy machine.
func cpuSeconds() -> Double {
    let usage = resourceUsage()
    func s(_ t: timeval) -> Double { Double(t.tv_sec) + Double(t.tv_usec) / 1e6 }
    return s(usage.ru_utime) + s(usage.ru_stime)
}
/// Wall-clock and CPU seconds of `body`.
func timed(_ body: () throws -> Void) rethrows -> (wall: Double, cpu: Double) {
    let cpu = cpuSeconds()
    let wall = try seconds(body)
    return (wall, cpuSeconds() - cpu)
}
func peakRSSMiB() -> Double { Double(resourceUsage().ru_maxrss) / 1024 }
func resourceUsage() -> rusage {
    var usage = rusage()
    getrusage(RUSAGE_SELF.rawValue, &usage)
    return usage
}
func report(_ measure: String, _ fields: JSONObject) {
    var o: JSONObject = ["measure": .string(measure)]
    for (k, v) in fields { o[k] = v }
    o["peakRSSMiB"] = .double((peakRSSMiB() * 10).rounded() / 10)
    print(JSONValue.object(o).jsonText)
}
func rate(_ n: Int, _ s: Double) -> JSONValue { .double((Double(n) / max(s, 1e-9)).rounded()) }
func ms(_ s: Double) -> JSONValue { .double((s * 1e5).rounded() / 100) }

/// Every event of D/events.jsonl (as generated) in turn, until `body` returns false. Read in 4 MB
/// pieces, so that the peak memory reported is the appends', not the file's.
func forEachGeneratedEvent(in dir: String, _ body: (ProposedEvent) throws -> Bool) throws {
    guard let file = FileHandle(forReadingAtPath: dir + "/events.jsonl") else {
        FileHandle.standardError.write(Data("hubledger-bench: no \(dir)/events.jsonl (run generate first)\n".utf8))
        exit(1)
    }
    defer { try? file.close() }
    var pending = Data()
    while true {
        let piece = try file.read(upToCount: 4 << 20) ?? Data()
        pending.append(piece)
        var lines = pending.split(separator: 0x0A, omittingEmptySubsequences: false)
        // The last piece of a read may be half a line; at the end of the file it is the last line.
        pending = piece.isEmpty ? Data() : Data(lines.removeLast())
        for line in lines where !line.isEmpty {
            let value = try Array(line).withUnsafeBytes { try JSONParser.parse($0) }
            guard case .object(let o) = value, let id = o["id"]?.stringValue.flatMap(UUID.init(uuidString:)),
                  let stream = o["stream"]?.stringValue, let type = o["type"]?.stringValue,
                  let at = o["occurredAt"]?.stringValue.flatMap(Timestamp.init(rfc3339:)), case .object(let data)? = o["data"] else { continue }
            guard try body(ProposedEvent(id: id, stream: StreamID(stream), type: type, occurredAt: at, actor: "bench", data: data)) else { return }
        }
        if piece.isEmpty { return }
    }
}

/// The demo's domain mix, repeated under fresh ids (one hub network per round) until `count` events.
///
/// With `people`, every round is another year of the same people instead: their ids stay, they
/// register and consent once (round 0), and each round's events are dated a year (52 weeks) later.
func domainEvents(count: Int, round: Int, people: Int? = nil) -> [ProposedEvent] {
    let suffix = "-\(round)"
    let sameKeys: Set<String> = people == nil ? [] : ["participant"]
    // Only the same people are moved on a year per round: the domain mix's rounds are other hubs in the
    // same year (moved on, most of them would lie in the future, and `import` refuses those).
    let year = people == nil ? 0 : Double(round) * 364 * 86_400
    var proposals: [ProposedEvent] = []
    for d in Demo(participants: people ?? 1200, seed: UInt64(round + 1)).drafts() {
        var data = d.data
        if people != nil, round > 0, [EventType.participantRegistered, .consentGiven, .consentWithdrawn].map(\.rawValue).contains(d.type) { continue }
        for key in ["participant", "session", "referral", "concern"] where !sameKeys.contains(key) {
            if let v = data[key]?.stringValue { data[key] = .string(v + suffix) }
        }
        if d.type == EventType.eventRetracted.rawValue, let target = data["event"]?.stringValue {
            data["event"] = .string(DerivedID.make("bench", suffix, target.uppercased()).lowercasedString)
        }
        guard let type = EventType(rawValue: d.type) else { continue }
        let key = Schema.streamField(of: type).flatMap { data[$0]?.stringValue }
        proposals.append(ProposedEvent(id: DerivedID.make("bench", suffix, d.id?.uuidString ?? ""), stream: StreamID(type.entity?.stream(key ?? "") ?? ""),
                                       type: d.type, occurredAt: (Timestamp(rfc3339: d.occurredAt) ?? Timestamp(microseconds: 0)).adding(seconds: year), actor: "bench", data: data))
    }
    return proposals
}

// A failure (no store at --dir, a damaged log) is a message and exit 1, never a crash.
do {
    switch command {
    case "generate":
        // Retractions go to the retracted event's stream: resolve them after the round's events are known.
        let target = intOption("--events", 20_000)
        let people = option("--people").flatMap(Int.init)
        try? FileManager.default.removeItem(atPath: dir)
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        let log = try EventLog.create(at: dir + "/store")
        _ = FileManager.default.createFile(atPath: dir + "/events.jsonl", contents: nil)
        _ = FileManager.default.createFile(atPath: dir + "/import.jsonl", contents: nil)
        guard let out = FileHandle(forWritingAtPath: dir + "/events.jsonl"), let importFile = FileHandle(forWritingAtPath: dir + "/import.jsonl") else { exit(1) }
        var total = 0, round = 0, appendTime = 0.0
        while total < target {
            var events = domainEvents(count: target - total, round: round, people: people)
            var streamOf: [UUID: StreamID] = [:]
            for e in events where e.type != EventType.eventRetracted.rawValue { streamOf[e.id] = e.stream }
            for i in events.indices where events[i].type == EventType.eventRetracted.rawValue {
                if let raw = events[i].data["event"]?.stringValue, let id = UUID(uuidString: raw), let s = streamOf[id] { events[i].stream = s }
            }
            if total + events.count > target { events = Array(events.prefix(target - total)) }
            var start = 0
            var versions: [StreamID: Int64] = [:]
            var lines: [UInt8] = []
            var importLines: [UInt8] = []
            while start < events.count {
                let batch = Array(events[start..<min(start + 1000, events.count)])
                appendTime += try seconds { try log.append(AppendBatch(events: batch)) }
                for e in batch {
                    let v = (versions[e.stream] ?? -1) + 1
                    versions[e.stream] = v
                    let line: JSONValue = ["id": .string(e.id.lowercasedString), "stream": .string(e.stream.name), "streamVersion": .int(v),
                                           "type": .string(e.type), "occurredAt": .string(e.occurredAt.rfc3339), "data": .object(e.data)]
                    line.write(to: &lines)
                    lines.append(0x0A)
                    let importLine: JSONValue = ["id": .string(e.id.lowercasedString), "type": .string(e.type),
                                                 "occurredAt": .string(e.occurredAt.rfc3339), "data": .object(e.data)]
                    importLine.write(to: &importLines)
                    importLines.append(0x0A)
                }
                start += 1000
            }
            out.write(Data(lines))
            importFile.write(Data(importLines))
            total += events.count
            round += 1
        }
        try out.close()
        try importFile.close()
        var fields: JSONObject = ["events": .int(Int64(total)), "batch": 1000, "eventsPerSecond": rate(total, appendTime), "rounds": .int(Int64(round))]
        if let people { fields["people"] = .int(Int64(people)) }
        report("batched-append", fields)

    case "singles":
        // Single appends and the disk probe take turns in slices of `--slice`, so that both see the
        // same minutes of a disk whose fsync rate wanders by ±30 % from one second to the next.
        let count = intOption("--count", 5000), slice = max(1, intOption("--slice", 250))
        try? FileManager.default.removeItem(atPath: dir + "/singles")
        let log = try EventLog.create(at: dir + "/singles")
        let events = Array(domainEvents(count: count, round: 999).prefix(count))
        let path = dir + "/probe"
        let fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0o600)
        guard fd >= 0 else {
            FileHandle.standardError.write(Data("hubledger-bench singles: cannot create \(path)\n".utf8))
            exit(1)
        }
        _ = posix_fallocate(fd, 0, off_t(count * 300 + 4096)); fsync(fd)
        let buffer = [UInt8](repeating: 7, count: 300)
        var appendTime = 0.0, probeTime = 0.0
        for start in stride(from: 0, to: events.count, by: slice) {
            let end = min(start + slice, events.count)
            appendTime += try seconds { for e in events[start..<end] { try log.append([e], to: e.stream) } }
            probeTime += seconds {
                for i in start..<end { _ = buffer.withUnsafeBytes { pwrite(fd, $0.baseAddress, 300, off_t(i * 300)) }; fdatasync(fd) }
            }
        }
        close(fd); unlink(path)
        report("single-append", ["appends": .int(Int64(events.count)), "slice": .int(Int64(slice)), "appendsPerSecond": rate(events.count, appendTime)])
        // Sequential read of the log's own segments (page cache permitting).
        var bytes = 0
        var chunk = [UInt8](repeating: 0, count: 1 << 20)
        let segments = (try? FileManager.default.contentsOfDirectory(atPath: dir + "/store/segments")) ?? []
        let tr = seconds {
            for name in segments {
                let f = open(dir + "/store/segments/" + name, O_RDONLY)
                while true { let n = chunk.withUnsafeMutableBytes { read(f, $0.baseAddress, 1 << 20) }; if n <= 0 { break }; bytes += n }
                close(f)
            }
        }
        report("disk-probe", ["writes": .int(Int64(events.count)), "slice": .int(Int64(slice)), "fdatasyncsPerSecond": rate(events.count, probeTime),
                              "sequentialReadMBPerSecond": .double((Double(bytes) / 1e6 / max(tr, 1e-9)).rounded())])

    case "append":
        // The generated events appended again to a fresh store, 1,000 per batch, timing only the appends:
        // bench/run repeats this between SQLite's runs, so the batched figure is a median, not one try.
        let store = dir + "/append-store"
        try? FileManager.default.removeItem(atPath: store)
        let log = try EventLog.create(at: store)
        var batch: [ProposedEvent] = []
        var total = 0, appendTime = 0.0, appendCPU = 0.0
        func flush() throws {
            guard !batch.isEmpty else { return }
            let t = try timed { _ = try log.append(AppendBatch(events: batch)) }
            appendTime += t.wall
            appendCPU += t.cpu
            total += batch.count
            batch.removeAll(keepingCapacity: true)
        }
        try forEachGeneratedEvent(in: dir) { event in
            batch.append(event)
            if batch.count == 1000 { try flush() }
            return true
        }
        try flush()
        try? FileManager.default.removeItem(atPath: store)
        report("batched-append", ["events": .int(Int64(total)), "batch": 1000, "eventsPerSecond": rate(total, appendTime), "cpuSeconds": .double(appendCPU)])

    case "append-turns":
        // Batched appends to a copy of the smaller log and of the larger, one batch to each in turn, so
        // that the machine's wandering speed touches both alike: the cost of an append at each length.
        // The batches go in twice, under two sets of new ids, and only the second time is timed: a
        // writer reads a stream's tail from the log the first time it appends to it (a cost of opening
        // the log, once per stream per writer, not of each append). Fifty of each by default: work done
        // once per doubling of the log (the id filter rebuilt larger, sized at twice the log when the
        // writer opens) then falls outside the timed batches for logs of 100k and more; the whole runs
        // of `append` count it, amortised.
        guard let large = option("--large") else {
            FileHandle.standardError.write(Data("hubledger-bench append-turns: --dir SMALL --large LARGE [--batches N]\n".utf8))
            exit(2)
        }
        let batches = intOption("--batches", 50)
        struct Side { var log: EventLog; var events: Int; var batches: [[ProposedEvent]]; var wall = 0.0; var cpu = 0.0; var chunks: [Double] = [] }
        // Each side appends to a copy of its own (`--large` may name the same log as `--dir`: the control run,
        // a log against itself, shows how far apart two identical sides measure on this machine).
        func side(_ d: String, _ n: Int) throws -> Side {
            let copy = d + "/turns-store-\(n)"
            try? FileManager.default.removeItem(atPath: copy)
            try FileManager.default.copyItem(atPath: d + "/store", toPath: copy)
            let log = try EventLog(path: copy)
            var all: [[ProposedEvent]] = [[]]
            try forEachGeneratedEvent(in: d) { event in
                all[all.count - 1].append(event)
                if all[all.count - 1].count == 1000 { all.append([]) }
                return all.count <= batches
            }
            return Side(log: log, events: Int(try log.head()?.position ?? -1) + 1, batches: Array(all.filter { !$0.isEmpty }.prefix(batches)))
        }
        /// The log's first events again under other ids: their streams carry on from where the log left them.
        func renamed(_ batch: [ProposedEvent], _ pass: UInt8) -> [ProposedEvent] {
            batch.map { event in
                var moved = event
                var raw = event.id.uuid
                raw.0 ^= pass; raw.1 ^= 0x5A
                moved.id = UUID(uuid: raw)
                return moved
            }
        }
        var sides = [try side(dir, 0), try side(large, 1)]
        let rounds = min(sides[0].batches.count, sides[1].batches.count)
        for pass: UInt8 in [0xA5, 0x3C] {
            for k in 0..<rounds {
                // Each round starts with the other log, so neither always follows the other.
                for j in (k % 2 == 0 ? [0, 1] : [1, 0]) {
                    let batch = renamed(sides[j].batches[k], pass)
                    let t = try timed { _ = try sides[j].log.append(AppendBatch(events: batch)) }
                    guard pass == 0x3C else { continue }
                    sides[j].wall += t.wall
                    sides[j].cpu += t.cpu
                    if k % 10 == 0 { sides[j].chunks.append(0) }
                    sides[j].chunks[sides[j].chunks.count - 1] += t.wall
                }
            }
        }
        for (n, d) in [dir, large].enumerated() { try? FileManager.default.removeItem(atPath: d + "/turns-store-\(n)") }
        let n = rounds * 1000
        // Each ten batches' ratio beside the whole run's: how steady the comparison was.
        let chunkRatios = zip(sides[0].chunks, sides[1].chunks).map { JSONValue.double(($0 / max($1, 1e-9) * 1000).rounded() / 1000) }
        report("append-turns", ["smallEvents": .int(Int64(sides[0].events)), "largeEvents": .int(Int64(sides[1].events)), "batch": 1000, "batches": .int(Int64(rounds)),
                                "smallEventsPerSecond": rate(n, sides[0].wall), "largeEventsPerSecond": rate(n, sides[1].wall),
                                "ratio": .double((sides[0].wall / max(sides[1].wall, 1e-9) * 1000).rounded() / 1000),
                                "cpuRatio": .double((sides[0].cpu / max(sides[1].cpu, 1e-9) * 1000).rounded() / 1000),
                                "chunkRatios": .array(chunkRatios)])

    case "verify":
        let log = try EventLog(path: dir + "/store")
        var events = 0
        let t = try timed { events = try log.verify().events }
        report("verify", ["events": .int(Int64(events)), "eventsPerSecond": rate(events, t.wall), "cpuSeconds": .double(t.cpu)])

    case "read":
        let log = try EventLog(path: dir + "/store")
        var events = 0
        let t = try timed { try log.forEach { _ in events += 1; return true } }
        report("read", ["events": .int(Int64(events)), "eventsPerSecond": rate(events, t.wall), "cpuSeconds": .double(t.cpu)])

    case "rebuild":
        let log = try EventLog(path: dir + "/store")
        let runner = ProjectionRunner(log: log)
        // --only NAME rebuilds one projection, to see what each costs in time and memory.
        let only = stringOption("--only")
        let types = ProjectionRunner.all.filter { only == nil || $0.name == only }
        try runner.discardCheckpoints()
        var head: LogHead?
        let t = try timed { head = try runner.runAll(types).head }
        let events = Int((head?.position ?? -1) + 1)
        var fields: JSONObject = ["events": .int(Int64(events)), "eventsPerSecond": rate(events, t.wall), "seconds": .double(t.wall), "cpuSeconds": .double(t.cpu)]
        if let only { fields["projection"] = .string(only) }
        report("rebuild", fields)

    case "catchup":
        let count = intOption("--count", 1000)
        let log = try EventLog(path: dir + "/store")
        let runner = ProjectionRunner(log: log)
        _ = try runner.runAll(ProjectionRunner.all)
        let extra = domainEvents(count: count, round: 777).prefix(count)
        try log.append(AppendBatch(events: Array(extra)))
        let t = try seconds { _ = try runner.runAll(ProjectionRunner.all) }
        report("catch-up", ["newEvents": .int(Int64(extra.count)), "ms": ms(t)])

    case "history":
        let count = intOption("--count", 1000)
        let log = try EventLog(path: dir + "/store")
        let runner = ProjectionRunner(log: log)
        _ = try runner.runAll([ChronologyProjection.self])
        let rounds = max(1, Int((try log.head()?.position ?? 0) / 20_000))
        var generator = SplitMix64(seed: 42)
        var held: [Double] = [], reloaded: [Double] = []
        // A long-lived reader holds the read model and catches it up before each question.
        var folded = try runner.run(ChronologyProjection.self)
        for _ in 0..<count {
            let participant = String(format: "P-%04d", 1 + Int(generator.next() % 1200)) + "-\(Int(generator.next() % UInt64(rounds)))"
            held.append(try seconds {
                folded = try runner.catchUp(folded)
                _ = try folded.model.chronology(of: participant) { try log.events(inStreamsEndingAt: $0) }
            })
            // A one-shot reader (like the CLI) loads the checkpoint every time.
            reloaded.append(try seconds {
                let fresh = try runner.run(ChronologyProjection.self)
                _ = try fresh.model.chronology(of: participant) { try log.events(inStreamsEndingAt: $0) }
            })
        }
        held.sort(); reloaded.sort()
        func p(_ s: [Double], _ q: Int) -> JSONValue { ms(s[min(count - 1, count * q / 100)]) }
        report("history-in-process", ["samples": .int(Int64(count)), "p50ms": p(held, 50), "p99ms": p(held, 99),
                                      "reloadedP50ms": p(reloaded, 50), "reloadedP99ms": p(reloaded, 99)])

    default:
        print("usage: hubledger-bench generate|singles|append|append-turns|verify|read|rebuild|catchup|history --dir D [--events N] [--count N]")
    }
} catch {
    FileHandle.standardError.write(Data("hubledger-bench \(command): \(error)\n".utf8))
    exit(1)
}
