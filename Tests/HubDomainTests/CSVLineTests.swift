@testable import HubDomain
import Testing

// A register's lines as spreadsheets write them (RFC 4180, one line per row).

@Test func csvCellsFollowRFC4180() {
    #expect(CSVLine.cells("a,b , c") == ["a", "b", "c"])
    #expect(CSVLine.cells("\"a,b\",\"say \"\"hi\"\"\",") == ["a,b", "say \"hi\"", ""])
    #expect(CSVLine.cells(" \" padded \" ,x") == [" padded ", "x"])
    #expect(CSVLine.cells("\"open,x") == nil)
    #expect(CSVLine.cells("") == [""])
}
