@testable import Executor
import Testing

@Suite("JSON field scanner")
struct JSONFieldScannerTests {
    func fields(_ text: String) throws -> JSONFields {
        var copy = text
        return try copy.withUTF8 { buffer in
            // The scanner keeps ranges into the body; the tests read them while the body lives.
            try JSONFields(UnsafeRawBufferPointer(buffer))
        }
    }

    @Test("Finds string, number, null and nested values; decodes escapes")
    func wellFormed() throws {
        var text = #"{"a":"00ff","n":123 ,"z":null,"o":{"x":[1,"}",{"y":"\""}]},"e":"x\"y\\","b":true}"#
        try text.withUTF8 { buffer in
            let f = try JSONFields(UnsafeRawBufferPointer(buffer))
            #expect(try f.string("a") == "00ff")
            #expect(try f.unsignedInteger("n") == 123)
            #expect(try f.string("z") == nil && !f.isPresent("z"))
            #expect(try f.string("e") == #"x"y\"#)
            #expect(f["b"] == .bool(true))
            if case .composite = f["o"] {} else { Issue.record("nested object not found") }
            #expect(throws: (any Error).self) { try f.rawString("e") }
            #expect(throws: (any Error).self) { try f.unsignedInteger("a") }
        }
    }

    @Test("Rejects malformed input with an error, never a trap",
          arguments: ["", "[]", "{", "{\"a\"}", "{\"a\":}", "{\"a\":\"x}", "{\"a\":1,}", "{\"a\":1} x", "{\"a\":tru}",
                      "{\"a\":-}", String(repeating: "[", count: 100), "{\"a\":[1,2}"])
    func malformed(text: String) {
        #expect(throws: JSONScanError.self) { _ = try fields(text) }
    }

    @Test("Negative, fractional and oversized prices are rejected")
    func prices() throws {
        for text in [#"{"p":-1}"#, #"{"p":1.5}"#, #"{"p":1e3}"#, #"{"p":18446744073709551616}"#] {
            var copy = text
            try copy.withUTF8 { b in
                let f = try JSONFields(UnsafeRawBufferPointer(b))
                #expect(throws: (any Error).self) { try f.unsignedInteger("p") }
            }
        }
    }
}
