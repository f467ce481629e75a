import Foundation

/// Walks the framed records of one segment file, checking each CRC.
///
/// Damage it meets is judged by `InterruptedWrite`: a torn write, or corruption.
struct FrameScanner {
    enum Outcome: Equatable {
        /// The data ends cleanly here: only zeros (preallocated space) or nothing follow.
        case end(offset: Int)
        /// The visitor asked to stop before the frame at this offset.
        case stopped(offset: Int)
        /// A frame here is damaged; `torn` when it looks like an interrupted final write.
        case damaged(offset: Int, reason: String, torn: Bool)
    }

    static let chunkSize = 4 << 20
    /// How far past the end of the data a reader looks for stray bytes (a zeroed block inside the data).
    /// `verify` and writers look all the way to the end of the file.
    static let readerZeroWindow = 64 << 10

    /// Scans from `offset`, calling `visit(frameOffset, body)` for each CRC-valid frame.
    /// - Parameters:
    ///   - position: the log position of the frame at `start` (damage is judged knowing which record it is).
    ///   - thorough: check every byte after the data is zero, not only the next 64 KiB.
    ///   - indexed: whether the index places a position at an offset of this file (`InterruptedWrite.judge`).
    static func scan(_ file: RawFile, from start: Int, position: LogPosition, thorough: Bool = true,
                     indexed: (LogPosition, Int) -> Bool,
                     visit: (Int, UnsafeRawBufferPointer) throws -> Bool) throws -> Outcome {
        let fileSize = try file.size()
        // Start small and grow: most scans (a reader catching up, a writer's walk) cover a short
        // tail, and a fresh multi-megabyte buffer costs a page fault for every page it touches.
        var buffer = uninitializedBuffer(min(firstReadSize, max(fileSize - start, 1)))
        var bufferStart = start
        var bufferLength = try buffer.withUnsafeMutableBytes { b throws in try file.read(into: b, at: start) }
        var offset = start
        var position = position
        func classifyDamage(reason: String) throws -> Outcome {
            try InterruptedWrite.judge(file, at: offset, position: position, fileSize: fileSize, reason: reason, indexed: indexed)
        }
        // Readers and `verify` take no lock: a frame may be read while a writer is still writing it, and
        // look damaged. Such a frame is read again (a few times, a millisecond apart) before it is judged;
        // for a writer, which holds the lock, that only delays reporting real damage by a few milliseconds.
        var rereads = 0, rereadOffset = -1
        func readAgain() -> Bool {
            if rereadOffset != offset { rereadOffset = offset; rereads = 0 }
            guard rereads < 5 else { return false }
            if rereads > 0 { usleep(1_000) }
            rereads += 1
            bufferStart = offset
            bufferLength = 0
            return true
        }
        while true {
            if offset >= fileSize { return .end(offset: offset) }
            var relative = offset - bufferStart
            if relative + RecordCodec.frameHeaderSize > bufferLength {
                if offset + RecordCodec.frameHeaderSize > fileSize {
                    return try classifyEnd(file, at: offset, position: position, fileSize: fileSize, reason: "incomplete frame header at end of segment", indexed: indexed)
                }
                if buffer.count < chunkSize { buffer = uninitializedBuffer(min(chunkSize, buffer.count * 4)) }
                bufferStart = offset; relative = 0
                bufferLength = try buffer.withUnsafeMutableBytes { b throws in try file.read(into: b, at: offset) }
            }
            let (length, crc) = buffer.withUnsafeBytes { b in
                (Int(UInt32(littleEndian: b.loadUnaligned(fromByteOffset: relative, as: UInt32.self))),
                 UInt32(littleEndian: b.loadUnaligned(fromByteOffset: relative + 4, as: UInt32.self)))
            }
            if length == 0 && crc == 0 {
                return try classifyEnd(file, at: offset, position: position, fileSize: fileSize, reason: "zeroed bytes followed by data", thorough: thorough, indexed: indexed)
            }
            guard length >= RecordCodec.minimumBodySize, length <= RecordCodec.maximumBodySize,
                  offset + RecordCodec.frameHeaderSize + length <= fileSize else {
                if readAgain() { continue }
                return try classifyDamage(reason: "frame length \(length) is impossible here")
            }
            let frameSize = RecordCodec.frameHeaderSize + length
            if relative + frameSize > bufferLength {
                if buffer.count < frameSize { buffer = uninitializedBuffer(max(frameSize, min(chunkSize, buffer.count * 4))) }
                bufferStart = offset; relative = 0
                bufferLength = try buffer.withUnsafeMutableBytes { b throws in try file.read(into: b, at: offset) }
                guard bufferLength >= frameSize else {
                    if readAgain() { continue }
                    return try classifyDamage(reason: "segment ends inside a record")
                }
            }
            let keepGoing = try buffer.withUnsafeBytes { b throws -> Bool? in
                let body = UnsafeRawBufferPointer(rebasing: b[(relative + 8)..<(relative + frameSize)])
                guard CRC32C.checksum(body) == crc else { return nil }
                return try visit(offset, body)
            }
            guard let keepGoing else {
                if readAgain() { continue }
                return try classifyDamage(reason: "checksum mismatch")
            }
            if !keepGoing { return .stopped(offset: offset + frameSize) }
            offset += frameSize
            position += 1
        }
    }

    static let firstReadSize = 256 << 10

    /// A read buffer whose bytes are not zeroed first: only what a read fills is ever looked at.
    static func uninitializedBuffer(_ count: Int) -> [UInt8] {
        [UInt8](unsafeUninitializedCapacity: count) { _, initialized in initialized = count }
    }

    /// Zeros at `offset`: a clean end if only zeros follow, else damage (a zeroed block inside the data).
    static func classifyEnd(_ file: RawFile, at offset: Int, position: LogPosition, fileSize: Int, reason: String,
                            thorough: Bool = true, indexed: (LogPosition, Int) -> Bool) throws -> Outcome {
        let horizon = thorough ? fileSize : min(fileSize, offset + readerZeroWindow)
        if try lastNonZeroByte(file, from: offset, fileSize: horizon) == nil { return .end(offset: offset) }
        // Readers take no lock: a writer may have appended here since the zeros were read.
        // If the frame header at the end is no longer zero, that is new data, not damage.
        if try file.readBytes(at: offset, count: 8).contains(where: { $0 != 0 }) { return .end(offset: offset) }
        return try InterruptedWrite.judge(file, at: offset, position: position, fileSize: fileSize, reason: reason, indexed: indexed)
    }

    /// The offset of the last non-zero byte at or after `from` (and before `fileSize`), or nil if there is none.
    ///
    /// Only the file's data ranges are read (`SEEK_DATA`/`SEEK_HOLE`): the preallocated space after a
    /// segment's data is unwritten and reads as zeros without being read, where reading it cost a
    /// writer's every opening (and `verify`) a copy of up to a preallocation step of zeros.
    static func lastNonZeroByte(_ file: RawFile, from: Int, fileSize: Int) throws -> Int? {
        for range in dataRanges(file, from: from, upTo: fileSize).reversed() {
            if let last = try lastNonZeroByte(file, in: range) { return last }
        }
        return nil
    }

    /// The parts of `from..<end` that may hold data, in order: holes and unwritten extents left out,
    /// the whole span when the file system cannot say.
    static func dataRanges(_ file: RawFile, from: Int, upTo end: Int) -> [Range<Int>] {
        var ranges: [Range<Int>] = []
        var position = from
        while position < end {
            let data = lseek(file.fd, off_t(position), seekData)
            if data < 0 {
                // ENXIO: nothing but holes from here on. Anything else: no answer, so read it all.
                if errno != ENXIO { ranges.append(position..<end) }
                break
            }
            guard Int(data) < end else { break }
            let hole = lseek(file.fd, data, seekHole)
            let stop = hole < 0 ? end : min(end, Int(hole))
            guard stop > Int(data) else { ranges.append(Int(data)..<end); break }
            ranges.append(Int(data)..<stop)
            position = stop
        }
        return ranges
    }

    /// The last non-zero byte in `range`, read backwards a megabyte at a time.
    static func lastNonZeroByte(_ file: RawFile, in range: Range<Int>) throws -> Int? {
        var end = range.upperBound
        var buffer = uninitializedBuffer(min(1 << 20, range.count))
        while end > range.lowerBound {
            let start = max(range.lowerBound, end - buffer.count)
            let n = try buffer.withUnsafeMutableBytes { b in
                try file.read(into: UnsafeMutableRawBufferPointer(rebasing: b[0..<(end - start)]), at: start)
            }
            let allZero = buffer.withUnsafeBytes { b in
                zeroPage.withUnsafeBytes { z -> Bool in
                    var i = 0
                    while i < n {
                        let m = min(z.count, n - i)
                        guard let bb = b.baseAddress, let zb = z.baseAddress, memcmp(bb + i, zb, m) == 0 else { return false }
                        i += m
                    }
                    return true
                }
            }
            if !allZero, let i = buffer[0..<n].lastIndex(where: { $0 != 0 }) { return start + i }
            end = start
        }
        return nil
    }

    #if os(Linux)
    // <unistd.h> defines them only under _GNU_SOURCE, which Swift's Glibc module does not see.
    static let seekData: Int32 = 3, seekHole: Int32 = 4
    #else
    static let seekData = SEEK_DATA, seekHole = SEEK_HOLE
    #endif

    static let zeroPage = [UInt8](repeating: 0, count: 65_536)
}
