/// Where each file of a store lives (docs/FORMAT.md, "Files").
struct StoreLayout: Sendable {
    let root: String

    static let formatLine = "hubledger-store 1\n"
    static let segmentMagic: [UInt8] = Array("HUBLEDG1".utf8)
    static let segmentHeaderSize = 16

    var storeFile: String { root + "/STORE" }
    var lockFile: String { root + "/lock" }
    var segments: String { root + "/segments" }
    var indexDirectory: String { root + "/index" }
    var indexFile: String { indexDirectory + "/positions.idx" }
    var damagedMarker: String { root + "/DAMAGED" }
    var checkpoints: String { root + "/checkpoints" }
    var vaultDirectory: String { root + "/vault" }
    var vaultFile: String { vaultDirectory + "/values" }

    func segmentPath(_ number: Int) -> String { segments + "/" + StoreLayout.segmentName(number) }

    static func segmentName(_ number: Int) -> String {
        let digits = String(number)
        return String(repeating: "0", count: max(0, 8 - digits.count)) + digits + ".seg"
    }

    /// The numbers of the segment files present, in order.
    func segmentNumbers() throws -> [Int] {
        try Directory.entries(segments).compactMap { name in
            guard name.hasSuffix(".seg"), name.count == 12 else { return nil }
            return Int(name.prefix(8))
        }.sorted()
    }

    static func segmentHeader(firstPosition: LogPosition) -> [UInt8] {
        var out = segmentMagic
        ByteWriter.append(UInt64(firstPosition), to: &out)
        return out
    }
}
