import Foundation

/// Where commands write: stdout for results, stderr for errors and logs.
///
/// Writes go through the C library and report failure (a closed pipe, a full
/// disk) instead of trapping, so the daemon can treat an alert it could not
/// print as not delivered.
enum Console {
    /// Writes one line to stdout; false when it could not be written.
    @discardableResult
    static func out(_ line: String) -> Bool {
        write(line + "\n", to: 1)
    }

    static func err(_ line: String) {
        _ = write(line + "\n", to: 2)
    }

    private static func write(_ text: String, to fd: Int32) -> Bool {
        var text = text
        return text.withUTF8 { buffer in
            guard let base = buffer.baseAddress else { return true }
            var done = 0
            while done < buffer.count {
                let n = Glibc.write(fd, base + done, buffer.count - done)
                if n < 0 && errno == EINTR { continue }
                if n <= 0 { return false }
                done += n
            }
            return true
        }
    }
}
