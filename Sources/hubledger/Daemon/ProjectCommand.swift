import EventStore
import Foundation
import Projections

enum ProjectCommand: Command {
    static let spec = CommandSpec(
        name: "project", summary: "advance every projection's checkpoint to the head (with --follow, keep doing so)",
        usage: "project [--follow] [--interval 1s]",
        options: [
            .init(name: "follow", valueName: nil, help: "keep running, catching up as the log grows, until SIGTERM"),
            .init(name: "interval", valueName: "1s", help: "how often to look for new events when following"),
        ])

    static func run(_ arguments: ParsedArguments) throws {
        var interval = 1.0
        if let text = arguments.value("interval") {
            guard let v = Interval.parse(text) else { throw CLIError.usage("--interval must be like 1s or 500ms, not '\(text)'") }
            interval = v
        }
        let log = try Environment.openLog(arguments)
        try AccessGate.authorize(.administer, command: spec.name, log: log)
        let runner = ProjectionRunner(log: log)
        if arguments.has("follow") { StopSignal.install() }
        var last: LogHead?
        var first = true
        repeat {
            let head = try log.head()
            if first || last != head {
                let result = try runner.runAll(ProjectionRunner.all)
                Console.err("project: read models at \(result.head?.description ?? "an empty log")")
                last = head
                first = false
            }
            if !arguments.has("follow") { break }
            StopSignal.sleep(interval)
        } while !StopSignal.isRequested
    }
}
