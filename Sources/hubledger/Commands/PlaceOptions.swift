import Foundation
import HubDomain
import Projections

/// The `--hub H` and `--region R` options: hubs are free names, regions one of the known three.
enum PlaceOptions {
    static let hubOption = CommandSpec.Option(name: "hub", valueName: "H", help: "only this hub (repeatable); an unknown hub just gives zero", repeats: true)
    static let regionOption = CommandSpec.Option(name: "region", valueName: "R", help: "only this region (repeatable): \(spellings)", repeats: true)

    /// `surrey | london | greater-manchester`.
    static let spellings = Region.allCases.map(\.rawValue).joined(separator: " | ")

    /// A region named on the command line.
    /// - Throws: `CLIError.usage` naming the regions there are.
    static func region(_ text: String) throws -> Region {
        guard let region = Region(rawValue: text) else { throw CLIError.usage("--region must be one of \(spellings), not '\(text)'") }
        return region
    }

    /// The audit's hubs and regions from every `--hub` and `--region` given.
    static func auditFilter(_ arguments: ParsedArguments) throws -> AuditFilter {
        AuditFilter(hubs: Set(arguments.all("hub")), regions: Set(try arguments.all("region").map(region)))
    }

    /// `--hub H … --region R …` for a command line that reproduces a filtered figure.
    static func arguments(for filter: AuditFilter) -> String {
        (filter.sortedHubs.map { " --hub \(quoted($0))" } + filter.sortedRegions.map { " --region \($0)" }).joined()
    }

    /// A hub name as a shell word: single-quoted unless it is plain letters, digits and `-_.`.
    static func quoted(_ word: String) -> String {
        let plain = !word.isEmpty && word.unicodeScalars.allSatisfy { $0.isASCII && (CharacterSet.alphanumerics.contains($0) || "-_.".unicodeScalars.contains($0)) }
        return plain ? word : "'" + word.replacingOccurrences(of: "'", with: "'\\''") + "'"
    }
}
