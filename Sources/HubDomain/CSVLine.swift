/// One line of comma-separated values as spreadsheets write them (RFC 4180): a cell in double
/// quotes may hold commas, and `""` inside it stands for one quote. Cells are trimmed of spaces
/// outside the quotes.
///
/// A register is a line per person, so a quoted cell running on to the next line is not read:
/// it is reported as an unterminated quote.
enum CSVLine {
    /// The cells of `line`, or nil when a quote opened in it is never closed.
    static func cells(_ line: String) -> [String]? {
        var cells: [String] = []
        var cell = ""
        var quoted = false, wasQuoted = false
        var characters = line.makeIterator()
        while let c = characters.next() {
            if quoted {
                if c == "\"" {
                    // A doubled quote is a quote; a single one closes the cell.
                    var lookahead = characters
                    if lookahead.next() == "\"" { cell.append("\""); characters = lookahead } else { quoted = false }
                } else {
                    cell.append(c)
                }
            } else if c == "," {
                cells.append(wasQuoted ? cell : cell.trimmingSpaces)
                cell = ""; wasQuoted = false
            } else if c == "\"" && cell.trimmingSpaces.isEmpty && !wasQuoted {
                cell = ""; quoted = true; wasQuoted = true
            } else if !(wasQuoted && c == " ") {
                cell.append(c)
            }
        }
        guard !quoted else { return nil }
        cells.append(wasQuoted ? cell : cell.trimmingSpaces)
        return cells
    }
}

private extension String {
    var trimmingSpaces: String {
        var s = Substring(self)
        while s.first == " " || s.first == "\t" { s = s.dropFirst() }
        while s.last == " " || s.last == "\t" { s = s.dropLast() }
        return String(s)
    }
}
