#if canImport(Glibc)
import Glibc
#endif

/// Asks the kernel to back big, not yet touched allocations with 2 MB pages (Linux's transparent
/// huge pages in `madvise` mode), for tables probed at random.
@usableFromInline
enum HugePages {
    static let size = 2 << 20

    /// Advises the 2 MB-aligned part of `buffer`; call it before the memory is first written.
    /// Best effort: smaller buffers, other systems and refusals change nothing.
    @usableFromInline
    static func advise(_ buffer: UnsafeMutableRawBufferPointer) {
        #if os(Linux)
        guard buffer.count >= 2 * size, let base = buffer.baseAddress else { return }
        let start = (Int(bitPattern: base) + size - 1) & ~(size - 1)
        let end = (Int(bitPattern: base) + buffer.count) & ~(size - 1)
        guard end > start, let pointer = UnsafeMutableRawPointer(bitPattern: start) else { return }
        _ = madvise(pointer, end - start, MADV_HUGEPAGE)
        #endif
    }
}
