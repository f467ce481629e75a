import Foundation

/// The one judgement recovery rests on: whether damage at the end of the data is an
/// interrupted write (a crash or power loss before the batch's sync returned, so never
/// acknowledged) or corruption of records that were whole once.
///
/// A torn write is cleared by the next writer; corruption is never cleared. So every rule here
/// errs towards corruption: a real tear judged corrupt needs a person to look, while corruption
/// judged torn would erase acknowledged events.
///
/// What an interrupted write can leave: a process killed mid-`pwrite` leaves a prefix of the batch.
/// A power loss can leave any subset of its 512-byte sectors, in any order (the kernel writes pages
/// back as it likes, and unwritten preallocated space reads as zeros). The writer therefore writes
/// a batch's end record only after the rest of the batch is on disk (`LogWriter.append`): damage
/// followed by a whole end record is never a tear.
enum InterruptedWrite {
    /// Writes are judged to land in whole sectors (a page is eight).
    static let sectorSize = 512
    /// A zero run this long is taken as a missing sector.
    static let smallestMissingPiece = 8
    /// The first non-zero byte of a sector written after missing ones lies this close to the sector's start.
    static let sectorStartSlack = 64
    static let minimumFrameSize = RecordCodec.frameHeaderSize + RecordCodec.minimumBodySize

    /// Judges the damaged frame at `offset`, the record at `position` by count.
    /// - Parameter indexed: whether the index places `position` at `offset`. The index is written only
    ///   after a batch's sync returned, so an entry is proof the record was acknowledged (and the
    ///   one way to tell a last record damaged since from a torn one, when the entry reached the disk).
    static func judge(_ file: RawFile, at offset: Int, position: LogPosition, fileSize: Int, reason: String,
                      indexed: (LogPosition, Int) -> Bool) throws -> FrameScanner.Outcome {
        guard let lastNonZero = try FrameScanner.lastNonZeroByte(file, from: offset, fileSize: fileSize) else {
            return .end(offset: offset)
        }
        let writtenEnd = min(fileSize, (lastNonZero + sectorSize) / sectorSize * sectorSize)
        let prefix = try file.readBytes(at: offset, count: min(writtenEnd - offset, RecordCodec.maximumBodySize + RecordCodec.frameHeaderSize))
        let torn = try hasTornShape(prefix, at: offset, writtenEnd: writtenEnd)
            && !indexed(position, offset)
            && onlyWholeSectorsFollow(file, from: offset, through: lastNonZero, position: position)
        return .damaged(offset: offset, reason: reason, torn: torn)
    }

    /// Whether the frame shows what a write that never finished leaves: a header not written, a
    /// sector inside it still zero, or the written bytes stopping before its end.
    static func hasTornShape(_ prefix: [UInt8], at offset: Int, writtenEnd: Int) -> Bool {
        let header = RecordCodec.frameHeaderSize
        guard prefix.count >= header else { return true }
        // The header's bytes up to a sector boundary inside it are zero: that sector was not written.
        let boundary = (offset / sectorSize + 1) * sectorSize
        let headerStart = prefix[0..<min(header, boundary - offset)]
        if !headerStart.contains(where: { $0 != 0 }) { return true }

        let length = prefix.withUnsafeBytes { Int(UInt32(littleEndian: $0.loadUnaligned(as: UInt32.self))) }
        let byHeader = length >= RecordCodec.minimumBodySize && length <= RecordCodec.maximumBodySize ? header + length : nil
        // The shorter of the two lengths the record states: a damaged field cannot stretch the record
        // over bytes that were written, and so make them look like the record's unwritten end.
        guard let size = [byHeader, naturalFrameLength(prefix)].compactMap({ $0 }).min() else { return false }
        if offset + size > writtenEnd { return true }
        // Fields stating more than the largest record, with data written past it: not a record's shape at all.
        guard size <= prefix.count else { return false }
        // A sector inside the record left zero: at least `smallestMissingPiece` of the record's bytes in it,
        // or the record's last few bytes when data was written after it (with nothing after, a missing
        // last sector is the written bytes stopping short, above).
        let end = offset + size
        var sector = offset / sectorSize * sectorSize
        while sector < end {
            let piece = max(sector, offset)..<min(sector + sectorSize, end)
            let missable = piece.count >= smallestMissingPiece || (piece.upperBound == end && piece.lowerBound == sector && writtenEnd > end)
            if missable, !prefix[(piece.lowerBound - offset)..<(piece.upperBound - offset)].contains(where: { $0 != 0 }) {
                return true
            }
            sector += sectorSize
        }
        return false
    }

    /// The frame length the record's own fields imply, when the prefix holds all of them.
    static func naturalFrameLength(_ prefix: [UInt8]) -> Int? {
        prefix.withUnsafeBytes { raw -> Int? in
            var r = ByteReader(raw, offset: RecordCodec.frameHeaderSize + 50)
            guard let flags = r.readUInt8(), r.readUInt8() != nil else { return nil }
            var strings = 3
            if flags & RecordCodec.Flag.hasCorrelation != 0 { strings += 1 }
            if flags & RecordCodec.Flag.hasCausation != 0 { strings += 1 }
            for _ in 0..<strings {
                guard let n = r.readUInt16(), r.readBytes(Int(n)) != nil else { return nil }
            }
            guard let dataLength = r.readUInt32() else { return nil }
            return r.offset + Int(dataLength) + RecordCodec.hashesSize
        }
    }

    /// Whether the bytes after the damaged frame are what a batch's unfinished write leaves: no
    /// whole end-of-batch record that could be this log's (acknowledged data after the damage),
    /// and no data starting away from a sector's start after a zero gap (a stray write, not a page
    /// written back).
    ///
    /// Read a few megabytes at a time: an unfinished batch can be hundreds of megabytes.
    static func onlyWholeSectorsFollow(_ file: RawFile, from offset: Int, through lastNonZero: Int, position: LogPosition) throws -> Bool {
        let chunk = 4 << 20, lookahead = RecordCodec.frameHeaderSize + 51
        var buffer = FrameScanner.uninitializedBuffer(min(chunk, lastNonZero + 1 - offset) + lookahead)
        var zeroRun = 0
        var start = offset
        while start <= lastNonZero {
            let n = try buffer.withUnsafeMutableBytes { b in try file.read(into: b, at: start) }
            let scanned = min(n, chunk, lastNonZero + 1 - start)
            guard scanned > 0 else { break }
            let verdict = try buffer.withUnsafeBytes { raw throws -> Bool in
                for i in 0..<scanned {
                    let o = start + i
                    if raw[i] == 0 { zeroRun += 1 } else {
                        if zeroRun >= sectorSize && o % sectorSize >= sectorStartSlack { return false }
                        zeroRun = 0
                    }
                    // At zeros too: a frame whose length is a multiple of 256 starts with one.
                    guard o > offset, i + lookahead <= n else { continue }
                    if try isEndOfBatch(raw, at: i, valid: n, fileOffset: o, in: file, after: offset, position: position) { return false }
                }
                return true
            }
            guard verdict else { return false }
            start += scanned
        }
        return true
    }

    /// Whether a whole record ending a batch starts at `i`, at a position this log could hold
    /// there: after the damaged record's, and no further on than the bytes between them allow.
    static func isEndOfBatch(_ raw: UnsafeRawBufferPointer, at i: Int, valid n: Int, fileOffset o: Int, in file: RawFile,
                             after damaged: Int, position: LogPosition) throws -> Bool {
        let header = RecordCodec.frameHeaderSize
        let length = Int(UInt32(littleEndian: raw.loadUnaligned(fromByteOffset: i, as: UInt32.self)))
        guard length >= RecordCodec.minimumBodySize, length <= RecordCodec.maximumBodySize,
              raw[i + header + 50] & RecordCodec.Flag.endsBatch != 0 else { return false }
        let stated = LogPosition(bitPattern: UInt64(littleEndian: raw.loadUnaligned(fromByteOffset: i + header, as: UInt64.self)))
        guard stated > position, stated <= position + LogPosition((o - damaged) / minimumFrameSize) + 1 else { return false }
        let crc = UInt32(littleEndian: raw.loadUnaligned(fromByteOffset: i + 4, as: UInt32.self))
        if i + header + length <= n {
            return CRC32C.checksum(UnsafeRawBufferPointer(rebasing: raw[(i + header)..<(i + header + length)])) == crc
        }
        let body = try file.readBytes(at: o + header, count: length)
        return body.count == length && body.withUnsafeBytes { CRC32C.checksum($0) } == crc
    }
}
