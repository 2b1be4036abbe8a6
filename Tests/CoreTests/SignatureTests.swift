import CFaultline
import FaultlineTestSupport
import Faultline
import XCTest
#if canImport(Glibc)
import Glibc
#endif

/// The signature grammar, JSON input per signature, and calls of any
/// signature through libffi, checked against plain C calls of the same victims.
final class SignatureTests: XCTestCase {
    // MARK: - Parsing

    func testParsesEveryScalarNameAsReturnAndParameter() throws {
        for type in ScalarType.allCases {
            let signature = try Signature(parsing: "\(type)(\(type))")
            XCTAssertEqual(signature.returnType, type)
            XCTAssertEqual(signature.parameters, [.scalar(type)])
            XCTAssertEqual(signature.description, "\(type)(\(type))")
        }
    }

    func testParsesCAliases() throws {
        let aliases: [(String, ScalarType)] = [
            ("int", .int32), ("signed int", .int32), ("int32_t", .int32), ("long", .int64), ("long long", .int64),
            ("int64_t", .int64), ("ssize_t", .int64), ("unsigned", .uint32), ("unsigned int", .uint32),
            ("uint32_t", .uint32), ("size_t", .uint64), ("unsigned long", .uint64), ("uint64_t", .uint64),
            ("char", .int8), ("signed char", .int8), ("int8_t", .int8), ("short", .int16), ("int16_t", .int16),
            ("unsigned char", .uint8), ("uint8_t", .uint8), ("unsigned short", .uint16), ("uint16_t", .uint16),
            ("_Bool", .bool), ("float", .float), ("double", .double),
        ]
        for (alias, type) in aliases {
            let signature = try Signature(parsing: "\(alias) ( \(alias) )")
            XCTAssertEqual(signature, Signature(returning: type, [.scalar(type)]), alias)
        }
        for spelling in ["const char *", "const char*", "char *", "char*", "char const *", "string"] {
            XCTAssertEqual(try Signature(parsing: "int(\(spelling))").parameters, [.string], spelling)
        }
    }

    func testParsesEveryParameterFormWithFreeWhitespace() throws {
        let signature = try Signature(parsing: "  void\t(\n string ,bytes,  out_string [ 16 ] , out_bytes[1],unsigned   long )  ")
        XCTAssertNil(signature.returnType)
        XCTAssertEqual(signature.parameters, [.string, .bytes, .outString(capacity: 16), .outBytes(capacity: 1), .scalar(.uint64)])
        XCTAssertEqual(signature.description, "void(string, bytes, out_string[16], out_bytes[1], uint64)")
        XCTAssertEqual(signature.inputCount, 3)
        XCTAssertEqual(try Signature(parsing: signature.description), signature)
    }

    func testEmptyAndVoidParameterLists() throws {
        XCTAssertEqual(try Signature(parsing: "int32()").parameters, [])
        XCTAssertEqual(try Signature(parsing: "void(void)"), Signature(returning: nil, []))
        XCTAssertEqual(Signature(returning: nil, []).description, "void()")
    }

    func testDefaultAndBuilders() throws {
        XCTAssertEqual(Signature.default, try Signature(parsing: "int(int)"))
        XCTAssertEqual(Signature.default.description, "int32(int32)")
        let built = Signature(returning: .double, [.scalar(.double), .string])
        XCTAssertEqual(built.description, "double(double, string)")
        XCTAssertEqual(built, try Signature(parsing: "double(double, const char *)"))
        XCTAssertEqual(built.inputCount, 2)
    }

    func testLimits() throws {
        let thirtyTwo = "int(" + Array(repeating: "int", count: 32).joined(separator: ",") + ")"
        XCTAssertEqual(try Signature(parsing: thirtyTwo).parameters.count, 32)
        XCTAssertEqual(try Signature(parsing: "void(out_bytes[67108864])").parameters, [.outBytes(capacity: 64 << 20)])
        XCTAssertEqual(try Signature(parsing: "void(out_bytes[007])").parameters, [.outBytes(capacity: 7)])
    }

    func testRejectsMalformedSignaturesWithTheRightKind() {
        let cases: [(String, SignatureError.Kind)] = [
            ("", .empty), ("   ", .empty),
            ("int", .missingOpenParenthesis),
            ("int(int", .missingCloseParenthesis),
            ("int(int) x", .trailingText),
            ("int((int))", .unexpectedParenthesis),
            ("(int)", .missingReturnType),
            ("int33(int)", .unknownType), ("int(int33)", .unknownType), ("int(long double)", .unknownType),
            ("int(int32[4])", .unknownType),
            ("string(int)", .notReturnable), ("bytes()", .notReturnable), ("out_string[4]()", .notReturnable),
            ("int(void, int)", .voidParameter),
            ("int(int,)", .emptyParameter), ("int(,int)", .emptyParameter), ("int(int,,int)", .emptyParameter),
            ("int(" + Array(repeating: "int", count: 33).joined(separator: ",") + ")", .tooManyParameters),
            ("void(out_string)", .missingSize), ("void(out_bytes[])", .missingSize),
            ("void(out_bytes[x])", .invalidSize), ("void(out_bytes[-1])", .invalidSize), ("void(out_bytes[4)", .invalidSize),
            ("void(out_bytes[0])", .sizeTooSmall), ("void(out_string[000])", .sizeTooSmall),
            ("void(out_bytes[67108865])", .sizeTooLarge),
            ("void(out_bytes[99999999999999999999999999])", .sizeTooLarge),
        ]
        for (text, kind) in cases {
            XCTAssertThrowsError(try Signature(parsing: text), text) { error in
                XCTAssertEqual((error as? SignatureError)?.kind, kind, text)
            }
        }
    }

    func testSignatureErrorDescriptionsAreOneShortLine() {
        XCTAssertEqual(error("int33(int)").description, "unknown type 'int33' in signature")
        XCTAssertEqual(error("void(out_bytes[0])").description, "out_bytes needs a size of at least 1")
        let long = error("int(" + String(repeating: "x", count: 10_000) + ")")
        XCTAssertEqual(long.kind, .unknownType)
        XCTAssertLessThanOrEqual(long.token.count, 80)
        XCTAssertLessThan(long.description.count, 140)
        XCTAssertFalse(long.description.contains("\n"))
    }

    private func error(_ text: String) -> SignatureError {
        do { _ = try Signature(parsing: text) } catch { return error }
        XCTFail("'\(text)' parsed")
        return SignatureError(.empty, token: "")
    }

    // MARK: - JSON input

    private func sig(_ text: String) throws -> Signature { try Signature(parsing: text) }

    func testInputOfEveryScalarType() throws {
        let signature = try sig("void(int8, int16, int32, int64, uint8, uint16, uint32, uint64, float, double, bool, bool)")
        let values = try signature.parseInput("[-128, 32767, -2147483648, 9223372036854775807, 255, 65535, 4294967295, 18446744073709551615, 1.5, -2.5e-3, true, false]")
        XCTAssertEqual(values, [.int8(-128), .int16(32767), .int32(.min), .int64(.max), .uint8(255), .uint16(65535),
                                .uint32(.max), .uint64(.max), .float(1.5), .double(-0.0025), .bool(true), .bool(false)])
    }

    func testSixtyFourBitExtremesAreExact() throws {
        XCTAssertEqual(try sig("void(int64, int64)").parseInput("[-9223372036854775808, 9223372036854775807]"),
                       [.int64(.min), .int64(.max)])
        XCTAssertEqual(try sig("void(uint64)").parseInput("[18446744073709551615]"), [.uint64(.max)])
        XCTAssertEqual(try sig("void(uint64)").parseInput("[9007199254740993]"), [.uint64(9_007_199_254_740_993)])
        XCTAssertEqual(try sig("void(int64)").parseInput("[-0]"), [.int64(0)])
    }

    func testFloatsTakeAnyNumberAndTheNonFiniteWords() throws {
        XCTAssertEqual(try sig("void(double, float, double)").parseInput("[3, 1e3, 0.1]"), [.double(3), .float(1000), .double(0.1)])
        let words = try sig("void(double, float)").parseInput(#"["inf", "-inf"]"#)
        XCTAssertEqual(words, [.double(.infinity), .float(-.infinity)])
        guard case .double(let nan) = try sig("void(double)").parseInput(#"["nan"]"#)[0] else { return XCTFail() }
        XCTAssertTrue(nan.isNaN)
    }

    func testStringsWithEveryEscape() throws {
        let values = try sig("void(string)").parseInput(#"["a\"b\\c\/d\b\f\n\r\t\u00e9\u20ac\ud83d\ude00 z"]"#)
        XCTAssertEqual(values, [.string("a\"b\\c/d\u{8}\u{c}\n\r\té€😀 z")])
        XCTAssertEqual(try sig("void(string)").parseInput(#"["héllo"]"#), [.string("héllo")])
    }

    func testBytesFromStringOrBase64() throws {
        XCTAssertEqual(try sig("void(bytes)").parseInput(#"["ab\u0000"]"#), [.bytes([97, 98, 0])])
        XCTAssertEqual(try sig("void(bytes)").parseInput(#"[{"base64": "AAEC/w=="}]"#), [.bytes([0, 1, 2, 255])])
        XCTAssertEqual(try sig("void(bytes)").parseInput(#"[{"base64":""}]"#), [.bytes([])])
    }

    func testOutputBuffersTakeNoInput() throws {
        XCTAssertEqual(try sig("void(string, out_string[8])").parseInput(#"["x"]"#), [.string("x")])
        XCTAssertEqual(try sig("void(out_bytes[8])").parseInput("[]"), [])
        XCTAssertEqual(try sig("int32()").parseInput(" [ ] "), [])
    }

    func testDefaultSignatureTakesABareInteger() throws {
        for (text, value) in [("5", 5), ("-3", -3), ("  42 \n", 42), ("[7]", 7), (" [ -8 ] ", -8)] as [(String, Int32)] {
            XCTAssertEqual(try Signature.default.parseInput(text), [.int32(value)], text)
        }
        XCTAssertEqual(kind(of: "5", for: try sig("int64(int64)")), .invalidJSON(.expectedArray))
        XCTAssertEqual(kind(of: "2147483648", for: .default), .outOfRange(.int32))
        XCTAssertEqual(kind(of: "\"5\"", for: .default), .wrongType(expected: .scalar(.int32)))
        XCTAssertEqual(kind(of: "5 6", for: .default), .trailingGarbage)
    }

    private func kind(of text: String, for signature: Signature) -> InputError.Kind? {
        inputError(text, signature)?.kind
    }

    private func inputError(_ text: String, _ signature: Signature) -> InputError? {
        do {
            let values = try signature.parseInput(text)
            XCTFail("'\(text.prefix(100))' was accepted as \(values)")
            return nil
        } catch {
            return error
        }
    }

    func testRejectsEachBadInputWithTheRightKindAndIndex() throws {
        let two = try sig("int(int8, uint16)")
        let cases: [(String, Signature, InputError.Kind, Int?)] = [
            ("", two, .invalidJSON(.expectedArray), nil),
            ("[1, 2", two, .invalidJSON(.expectedCommaOrBracket), nil),
            ("[1,, 2]", two, .invalidJSON(.expectedValue), nil),
            ("[01, 2]", two, .invalidJSON(.leadingZero), nil),
            ("[1., 2]", two, .invalidJSON(.expectedDigit), nil),
            ("[+1, 2]", two, .invalidJSON(.expectedValue), nil),
            ("[1]", two, .wrongCount(expected: 2, found: 1), nil),
            ("[1, 2, 3]", two, .wrongCount(expected: 2, found: 3), nil),
            ("[1, \"2\"]", two, .wrongType(expected: .scalar(.uint16)), 1),
            ("[true, 2]", two, .wrongType(expected: .scalar(.int8)), 0),
            ("[null, 2]", two, .wrongType(expected: .scalar(.int8)), 0),
            ("[128, 2]", two, .outOfRange(.int8), 0),
            ("[-129, 2]", two, .outOfRange(.int8), 0),
            ("[1, -1]", two, .outOfRange(.uint16), 1),
            ("[1, 65536]", two, .outOfRange(.uint16), 1),
            ("[1, 3.0]", two, .fraction(.uint16), 1),
            ("[3.5, 2]", two, .fraction(.int8), 0),
            ("[1e3, 2]", two, .fraction(.int8), 0),
            ("[1, 2] x", two, .trailingGarbage, nil),
            ("[1, 2]]", two, .trailingGarbage, nil),
            ("[9223372036854775808]", try sig("void(int64)"), .outOfRange(.int64), 0),
            ("[-9223372036854775809]", try sig("void(int64)"), .outOfRange(.int64), 0),
            ("[18446744073709551616]", try sig("void(uint64)"), .outOfRange(.uint64), 0),
            ("[-1]", try sig("void(uint64)"), .outOfRange(.uint64), 0),
            ("[1e400]", try sig("void(double)"), .outOfRange(.double), 0),
            ("[1e39]", try sig("void(float)"), .outOfRange(.float), 0),
            ("[1]", try sig("void(bool)"), .wrongType(expected: .scalar(.bool)), 0),
            ("[5]", try sig("void(string)"), .wrongType(expected: .string), 0),
            (#"["a\u0000b"]"#, try sig("void(string)"), .nulInString, 0),
            (#"["a\x"]"#, try sig("void(string)"), .invalidJSON(.unknownEscape), nil),
            (#"["\ud83d"]"#, try sig("void(string)"), .invalidJSON(.unpairedSurrogate), nil),
            (#"["\ude00"]"#, try sig("void(string)"), .invalidJSON(.unpairedSurrogate), nil),
            ("[\"a\nb\"]", try sig("void(string)"), .invalidJSON(.controlCharacter), nil),
            (#"["abc"#, try sig("void(string)"), .invalidJSON(.unterminatedString), nil),
            (#"["\u12"]"#, try sig("void(string)"), .invalidJSON(.badUnicodeEscape), nil),
            (#"[{"base64" "AA=="}]"#, try sig("void(bytes)"), .invalidJSON(.expectedColon), nil),
            (#"[{1: "AA=="}]"#, try sig("void(bytes)"), .invalidJSON(.expectedKey), nil),
            (#"[{"base64": "AA==" "x"}]"#, try sig("void(bytes)"), .invalidJSON(.expectedCommaOrBrace), nil),
            ("[-]", try sig("void(int8)"), .invalidJSON(.expectedDigit), nil),
            ("[1e]", try sig("void(double)"), .invalidJSON(.expectedDigit), nil),
            ("[tru]", try sig("void(bool)"), .invalidJSON(.expectedValue), nil),
            ("{}", try sig("void(bool)"), .invalidJSON(.expectedArray), nil),
            (#"[{"base64": "AAE"}]"#, try sig("void(bytes)"), .invalidBase64, 0),
            (#"[{"base64": "A*=="}]"#, try sig("void(bytes)"), .invalidBase64, 0),
            (#"[{"hex": "00"}]"#, try sig("void(bytes)"), .wrongType(expected: .bytes), 0),
            ("[[1]]", try sig("void(bytes)"), .wrongType(expected: .bytes), 0),
            (String(repeating: "[", count: 100) + String(repeating: "]", count: 100), try sig("void(bytes)"),
             .invalidJSON(.nestedTooDeeply), nil),
        ]
        for (text, signature, expected, index) in cases {
            let error = inputError(text, signature)
            XCTAssertEqual(error?.kind, expected, text)
            XCTAssertEqual(error?.parameter, index, text)
        }
    }

    func testErrorQuotesTheOffendingText() throws {
        let error = inputError("[1, 3.25]", try sig("int(int8, uint16)"))
        XCTAssertEqual(error?.quote, "3.25")
        XCTAssertEqual(error?.description, "input value 1: '3.25' is not an integer (uint16 needs one)")
        let json = inputError("[1, 2", try sig("int(int8, uint16)"))
        XCTAssertEqual(json?.description, "input: invalid JSON at 'end of input': expected ',' or ']'")
    }

    func testAMegabyteInputIsNeverEchoedWhole() throws {
        let huge = "\"" + String(repeating: "a", count: 1_000_000) + "\""
        let cases: [(String, Signature)] = [
            ("[" + huge + "]", try sig("void(int32)")),             // wrong type, the quote would be the string
            ("[1] " + huge, .default),                              // trailing garbage
            ("[" + String(repeating: "9", count: 1_000_000) + "]", try sig("void(int64)")), // out of range
            ("[\"" + String(repeating: "a", count: 1_000_000), try sig("void(string)")),   // unterminated
            ("[1, 2, " + String(repeating: "3, ", count: 300_000) + "4]", .default),       // wrong count
        ]
        for (text, signature) in cases {
            XCTAssertGreaterThanOrEqual(text.utf8.count, 900_000)
            let error = try XCTUnwrap(inputError(text, signature))
            XCTAssertLessThanOrEqual(error.quote.count, 80)
            XCTAssertLessThan(error.description.count, 200, "\(error.kind)")
        }
    }

    func testInputJSONIsCanonicalAndReadsBack() throws {
        let signature = try sig("void(int64, uint64, double, bool, string, bytes, float)")
        let values: [Value] = [.int64(.min), .uint64(.max), .double(0.1), .bool(true), .string("a\"é\n"), .bytes([0, 255]), .float(1.5)]
        let json = Signature.inputJSON(values)
        XCTAssertEqual(json, #"[-9223372036854775808,18446744073709551615,0.1,true,"a\"é\n",{"base64":"AP8="},1.5]"#)
        XCTAssertEqual(try signature.parseInput(json), values)
    }

    // MARK: - Calls through libffi, compared with plain C calls

    /// The symbol's address, for a plain C call through a typed function pointer.
    private func symbol(_ name: String) throws -> UnsafeMutableRawPointer {
        try XCTUnwrap(Fixtures.address(name), name)
    }

    /// The symbol loaded the way a user loads it, with its signature.
    private func function(_ name: String, _ signature: String) throws -> NativeFunction {
        try Fixtures.function(name, signature)
    }

    /// Calls through the guard and directly, asserts both agree, returns the outcome.
    private func call(_ name: String, _ signature: String, _ arguments: [Value],
                      file: StaticString = #filePath, line: UInt = #line) throws -> Outcome {
        let native = try function(name, signature)
        let guarded = try GuardStrategy(native).call(arguments: arguments)
        let direct = try DirectStrategy(native).call(arguments: arguments)
        XCTAssertEqual(guarded, direct, name, file: file, line: line)
        return guarded
    }

    func testEveryScalarTypeMatchesAPlainCCall() throws {
        typealias I8 = @convention(c) (Int8, Int8) -> Int8
        let addI8 = unsafeBitCast(try symbol("fl_sig_add_i8"), to: I8.self)
        for (a, b) in [(Int8(3), Int8(4)), (127, 1), (-128, -1), (-5, 2)] {
            XCTAssertEqual(try call("fl_sig_add_i8", "int8(int8, int8)", [.int8(a), .int8(b)]), .returned(.int8(addI8(a, b)), out: []))
        }
        let negI16 = unsafeBitCast(try symbol("fl_sig_neg_i16"), to: (@convention(c) (Int16) -> Int16).self)
        for a: Int16 in [1, -32768, 32767, 0] {
            XCTAssertEqual(try call("fl_sig_neg_i16", "short(short)", [.int16(a)]), .returned(.int16(negI16(a)), out: []))
        }
        let mulI32 = unsafeBitCast(try symbol("fl_sig_mul_i32"), to: (@convention(c) (Int32, Int32) -> Int32).self)
        for (a, b) in [(Int32(6), Int32(7)), (.max, 2), (-3, 5)] {
            XCTAssertEqual(try call("fl_sig_mul_i32", "int(int, int)", [.int32(a), .int32(b)]), .returned(.int32(mulI32(a, b)), out: []))
        }
        let subI64 = unsafeBitCast(try symbol("fl_sig_sub_i64"), to: (@convention(c) (Int64, Int64) -> Int64).self)
        for (a, b) in [(Int64.max, Int64(-1)), (.min, 1), (10, 3)] {
            XCTAssertEqual(try call("fl_sig_sub_i64", "int64(int64, int64)", [.int64(a), .int64(b)]), .returned(.int64(subI64(a, b)), out: []))
        }
        for a in [Int64.min, .max, 0, -1] {
            XCTAssertEqual(try call("fl_sig_i64", "long(long)", [.int64(a)]), .returned(.int64(a), out: []))
        }
        let u8 = unsafeBitCast(try symbol("fl_sig_u8"), to: (@convention(c) (UInt8) -> UInt8).self)
        for a: UInt8 in [0, 254, 255] {
            XCTAssertEqual(try call("fl_sig_u8", "uint8(uint8)", [.uint8(a)]), .returned(.uint8(u8(a)), out: []))
        }
        let u16 = unsafeBitCast(try symbol("fl_sig_u16"), to: (@convention(c) (UInt16) -> UInt16).self)
        for a: UInt16 in [0, 0x1234, 0xffff] {
            XCTAssertEqual(try call("fl_sig_u16", "uint16(uint16)", [.uint16(a)]), .returned(.uint16(u16(a)), out: []))
        }
        let u32 = unsafeBitCast(try symbol("fl_sig_u32"), to: (@convention(c) (UInt32) -> UInt32).self)
        for a: UInt32 in [1, .max, 0x8000_0000] {
            XCTAssertEqual(try call("fl_sig_u32", "unsigned(unsigned)", [.uint32(a)]), .returned(.uint32(u32(a)), out: []))
        }
        for a in [UInt64.max, 0, 1 << 63, 9_007_199_254_740_993] {
            XCTAssertEqual(try call("fl_sig_u64", "size_t(size_t)", [.uint64(a)]), .returned(.uint64(a), out: []))
        }
        let f = unsafeBitCast(try symbol("fl_sig_f"), to: (@convention(c) (Float, Double) -> Float).self)
        for (a, b) in [(Float(1.25), 0.5), (-3.5, 1e10), (.greatestFiniteMagnitude, 0)] {
            XCTAssertEqual(try call("fl_sig_f", "float(float, double)", [.float(a), .double(b)]), .returned(.float(f(a, b)), out: []))
        }
        let d = unsafeBitCast(try symbol("fl_sig_d"), to: (@convention(c) (Double) -> Double).self)
        for a in [1.0, -0.1, 1e300, .leastNonzeroMagnitude] {
            XCTAssertEqual(try call("fl_sig_d", "double(double)", [.double(a)]), .returned(.double(d(a)), out: []))
        }
        let not = unsafeBitCast(try symbol("fl_sig_not"), to: (@convention(c) (Bool) -> Bool).self)
        for b in [true, false] {
            XCTAssertEqual(try call("fl_sig_not", "bool(_Bool)", [.bool(b)]), .returned(.bool(not(b)), out: []))
        }
        let positive = unsafeBitCast(try symbol("fl_sig_is_positive"), to: (@convention(c) (Int64) -> Bool).self)
        for a: Int64 in [1, 0, -1, .min] {
            XCTAssertEqual(try call("fl_sig_is_positive", "bool(int64)", [.int64(a)]), .returned(.bool(positive(a)), out: []))
        }
    }

    func testNarrowReturnsAreNarrowedBackFromTheRegister() throws {
        // libffi hands back integral returns widened to a register: they must come back at their own width.
        let i8of = unsafeBitCast(try symbol("fl_sig_i8_of"), to: (@convention(c) (Int32) -> Int8).self)
        let u8of = unsafeBitCast(try symbol("fl_sig_u8_of"), to: (@convention(c) (Int32) -> UInt8).self)
        for a: Int32 in [0x1ff, 0x80, -1, 300] {
            XCTAssertEqual(try call("fl_sig_i8_of", "int8(int32)", [.int32(a)]), .returned(.int8(i8of(a)), out: []))
            XCTAssertEqual(try call("fl_sig_u8_of", "uint8(int32)", [.int32(a)]), .returned(.uint8(u8of(a)), out: []))
        }
        XCTAssertEqual(try call("fl_sig_i8_of", "int8(int32)", [.int32(0x80)]), .returned(.int8(-128), out: []))
    }

    func testStringsAndBytesMatchAPlainCCall() throws {
        let mix = unsafeBitCast(try symbol("fl_sig_mix"), to: (@convention(c) (Double, UnsafePointer<CChar>) -> Double).self)
        let strlenC = unsafeBitCast(try symbol("fl_sig_strlen"), to: (@convention(c) (UnsafePointer<CChar>) -> Int32).self)
        for text in ["", "abc", "héllo wörld", String(repeating: "x", count: 100_000)] {
            XCTAssertEqual(try call("fl_sig_mix", "double(double, const char *)", [.double(0.5), .string(text)]),
                           .returned(.double(mix(0.5, text)), out: []))
            XCTAssertEqual(try call("fl_sig_strlen", "int(string)", [.string(text)]), .returned(.int32(strlenC(text)), out: []))
        }
        let sum = unsafeBitCast(try symbol("fl_sig_sum_bytes"), to: (@convention(c) (UnsafeRawPointer?, Int) -> Int64).self)
        for bytes in [[], [1, 2, 3], [0, 255, 0, 255], [UInt8](repeating: 200, count: 9999)] as [[UInt8]] {
            let expected = bytes.withUnsafeBytes { sum($0.baseAddress, $0.count) }
            XCTAssertEqual(try call("fl_sig_sum_bytes", "long(bytes)", [.bytes(bytes)]), .returned(.int64(expected), out: []))
        }
    }

    func testOutputBuffers() throws {
        XCTAssertEqual(try call("fl_sig_fill", "void(string, out_string[16])", [.string("hello")]),
                       .returned(.void, out: [.string("hello!")]))
        // Truncated by the callee to the capacity: 3 bytes and the NUL.
        XCTAssertEqual(try call("fl_sig_fill", "void(string, out_string[4])", [.string("hello")]),
                       .returned(.void, out: [.string("hel")]))
        XCTAssertEqual(try call("fl_sig_reverse", "void(bytes, out_bytes[6])", [.bytes([1, 2, 3, 4])]),
                       .returned(.void, out: [.bytes([4, 3, 2, 1, 0, 0])]))
        XCTAssertEqual(try call("fl_sig_write_invalid_utf8", "void(out_string[8])", []),
                       .returned(.void, out: [.bytes([0xff, 0xfe])]))
        // Two out buffers in one call land at their own offsets.
        typealias Fill = @convention(c) (UnsafePointer<CChar>, UnsafeMutableRawPointer, Int) -> Void
        let fill = unsafeBitCast(try symbol("fl_sig_fill"), to: Fill.self)
        var plain = [UInt8](repeating: 0, count: 10)
        plain.withUnsafeMutableBytes { fill("abcdefghijkl", $0.baseAddress!, $0.count) }
        XCTAssertEqual(try call("fl_sig_fill", "void(string, out_string[10])", [.string("abcdefghijkl")]),
                       .returned(.void, out: [.string(String(decoding: plain.prefix(9), as: UTF8.self))]))
    }

    func testVoidFunctionsRun() throws {
        let touched = try function("fl_sig_touched", "int32()")
        guard case .returned(.int32(let before), _) = try GuardStrategy(touched).call(arguments: []) else { return XCTFail() }
        XCTAssertEqual(try GuardStrategy(try function("fl_sig_touch", "void()")).call(arguments: []), .returned(.void, out: []))
        XCTAssertEqual(try GuardStrategy(touched).call(arguments: []), .returned(.int32(before + 1), out: []))
    }

    func testTwelvePlusMixedArgumentsUseRegistersAndTheStack() throws {
        typealias Many = @convention(c) (Int8, UInt16, Int32, Int64, UInt64, Float, Double, Bool,
                                         UnsafePointer<CChar>, Double, Double, Double, Double, Int32) -> Double
        let many = unsafeBitCast(try symbol("fl_sig_many"), to: Many.self)
        let expected = many(-1, 2, -3, 4_000_000_000_000, 5, 0.25, 6.5, true, "seven", 8, 9, 10, 11, 12)
        let outcome = try call("fl_sig_many",
                               "double(int8, uint16, int32, int64, uint64, float, double, bool, string, double, double, double, double, int32)",
                               [.int8(-1), .uint16(2), .int32(-3), .int64(4_000_000_000_000), .uint64(5), .float(0.25), .double(6.5),
                                .bool(true), .string("seven"), .double(8), .double(9), .double(10), .double(11), .int32(12)])
        XCTAssertEqual(outcome, .returned(.double(expected), out: []))
        XCTAssertEqual(expected, 4_000_000_000_000 + 1000 + 64.75)
    }

    func testACrashIsASignaledOutcomeAndTheGuardKeepsWorking() throws {
        let crashOn = try function("fl_sig_crash_on", "int32(string)")
        let strategy = GuardStrategy(crashOn)
        let outcome = try strategy.call(arguments: [.string("crash")])
        XCTAssertEqual(outcome.signal, .segmentationFault)
        XCTAssertEqual(outcome.fault?.address, 0)
        XCTAssertEqual(try strategy.call(arguments: [.string("fine")]), .returned(.int32(4), out: []))
    }

    func testDefaultSignatureStillWorksThroughBothPaths() throws {
        let identity = try Fixtures.victim("fl_identity")
        XCTAssertEqual(identity.signature, .default)
        XCTAssertEqual(try GuardStrategy(identity).call(41), .returned(41))
        XCTAssertEqual(try GuardStrategy(identity).call(arguments: [.int32(41)]), .returned(41))
        let byAddress = NativeFunction(UnsafeRawPointer(try symbol("fl_sig_u64")), signature: try sig("uint64(uint64)"))
        XCTAssertEqual(try DirectStrategy(byAddress).call(arguments: [.uint64(.max)]), .returned(.uint64(.max), out: []))
    }

    func testArgumentsThatDoNotFitTheSignatureAreRejectedBeforeTheCall() throws {
        let strategy = GuardStrategy(try function("fl_sig_mix", "double(double, string)"))
        XCTAssertThrowsError(try strategy.call(arguments: [.double(1)])) { error in
            XCTAssertEqual((error as? InputError)?.kind, .wrongCount(expected: 2, found: 1))
        }
        XCTAssertThrowsError(try strategy.call(arguments: [.float(1), .string("x")])) { error in
            XCTAssertEqual((error as? InputError)?.kind, .wrongType(expected: .scalar(.double)))
            XCTAssertEqual((error as? InputError)?.parameter, 0)
        }
        XCTAssertThrowsError(try strategy.call(arguments: [.double(1), .string("a\u{0}b")])) { error in
            XCTAssertEqual((error as? InputError)?.kind, .nulInString)
        }
    }

    // MARK: - The C records

    func testCRecordSizes() {
        XCTAssertEqual(fl_argument_field_size(FL_TYPE_INT8.rawValue, 0), 8)
        XCTAssertEqual(fl_argument_field_size(FL_TYPE_STRING.rawValue, 0), 16)
        XCTAssertEqual(fl_argument_field_size(FL_TYPE_STRING.rawValue, 7), 16)
        XCTAssertEqual(fl_argument_field_size(FL_TYPE_STRING.rawValue, 8), 24)
        XCTAssertEqual(fl_argument_field_size(FL_TYPE_BYTES.rawValue, 0), 8)
        XCTAssertEqual(fl_argument_field_size(FL_TYPE_BYTES.rawValue, 8), 16)
        XCTAssertEqual(fl_argument_field_size(FL_TYPE_OUT_BYTES.rawValue, 8), 0)
        XCTAssertEqual(fl_argument_field_size(FL_TYPE_BYTES.rawValue, .max), .max)
        let signature = UnsafeMutablePointer<fl_signature>.allocate(capacity: 1)
        defer { signature.deallocate() }
        let types = [FL_TYPE_OUT_STRING.rawValue, FL_TYPE_INT32.rawValue, FL_TYPE_OUT_BYTES.rawValue]
        XCTAssertEqual(fl_signature_prepare(signature, FL_TYPE_VOID.rawValue, types, [5, 0, 9], 3), 0)
        XCTAssertEqual(fl_signature_result_size(signature), 8 + 8 + 16)
        XCTAssertEqual(signature.pointee.out_offsets.0, 8)
        XCTAssertEqual(signature.pointee.out_offsets.2, 16)
        XCTAssertEqual(signature.pointee.argument_count, 5)
        XCTAssertEqual(fl_signature_prepare(signature, FL_TYPE_STRING.rawValue, types, [5, 0, 9], 3), FL_SIGNATURE_MALFORMED)
        XCTAssertEqual(fl_signature_prepare(signature, FL_TYPE_VOID.rawValue, types, [0, 0, 9], 3), FL_SIGNATURE_MALFORMED)
        XCTAssertEqual(fl_signature_prepare(signature, FL_TYPE_VOID.rawValue, [99], nil, 1), FL_SIGNATURE_MALFORMED)
    }

    func testMalformedArgumentRecordsAreRefusedWithoutACall() throws {
        let strlenAddress = try symbol("fl_sig_crash_on")
        let signature = UnsafeMutablePointer<fl_signature>.allocate(capacity: 1)
        defer { signature.deallocate() }
        XCTAssertEqual(fl_signature_prepare(signature, FL_TYPE_INT32.rawValue, [FL_TYPE_STRING.rawValue], nil, 1), 0)
        let record = UnsafeMutableRawPointer.allocate(byteCount: 64, alignment: 16)
        defer { record.deallocate() }
        let result = UnsafeMutableRawPointer.allocate(byteCount: 8, alignment: 16)
        defer { result.deallocate() }
        func invoke(length: UInt64, text: String, size: Int, offset: Int = 0) -> Int32 {
            record.initializeMemory(as: UInt8.self, repeating: 0, count: 64)
            record.storeBytes(of: length, toByteOffset: offset, as: UInt64.self)
            for (i, byte) in text.utf8.enumerated() { record.storeBytes(of: byte, toByteOffset: offset + 8 + i, as: UInt8.self) }
            result.storeBytes(of: 0, as: UInt64.self)
            var report = fl_report()
            let status = fl_guard_invoke(signature, strlenAddress, (record + offset).assumingMemoryBound(to: UInt8.self), size,
                                         result.assumingMemoryBound(to: UInt8.self), 0, &report)
            if status == 0 { XCTAssertEqual(report.kind, Int32(FL_KIND_RETURNED.rawValue)) }
            return status
        }
        XCTAssertEqual(invoke(length: 3, text: "abc", size: 16), 0)
        XCTAssertEqual(result.load(as: Int32.self), 3)
        // "crash" would fault if it were called: every malformed record must be refused first.
        XCTAssertEqual(invoke(length: 5, text: "crash", size: 8), FL_SIGNATURE_MALFORMED)           // payload outside
        XCTAssertEqual(invoke(length: 1 << 62, text: "crash", size: 24), FL_SIGNATURE_MALFORMED)     // huge length
        XCTAssertEqual(invoke(length: 3, text: "crash", size: 16), FL_SIGNATURE_MALFORMED)          // no NUL after 3 bytes
        XCTAssertEqual(invoke(length: 5, text: "crash", size: 24 + 8), FL_SIGNATURE_MALFORMED)      // extra bytes
        XCTAssertEqual(invoke(length: 5, text: "crash", size: 4), FL_SIGNATURE_MALFORMED)           // shorter than a length
        XCTAssertEqual(invoke(length: 5, text: "crash", size: 16, offset: 4), FL_SIGNATURE_MALFORMED) // misaligned
        XCTAssertEqual(invoke(length: 7, text: "crash!!", size: 8 + 8), 0)                          // exactly fits
        XCTAssertEqual(result.load(as: Int32.self), 7)
    }

    func testCInvokeNormalizesBoolsAndZeroesTheRestOfTheReturnSlot() throws {
        let signature = UnsafeMutablePointer<fl_signature>.allocate(capacity: 1)
        defer { signature.deallocate() }
        let record = UnsafeMutableRawPointer.allocate(byteCount: 8, alignment: 16)
        defer { record.deallocate() }
        let result = UnsafeMutableRawPointer.allocate(byteCount: 8, alignment: 16)
        defer { result.deallocate() }
        func invoke(_ name: String, returning: fl_type, _ parameter: fl_type, field: UInt64) throws -> UInt64 {
            // Both ways of calling (registers, libffi) must give the same slot.
            var slots: [UInt64] = []
            for registers in [true, false] {
                XCTAssertEqual(fl_signature_prepare(signature, returning.rawValue, [parameter.rawValue], nil, 1), 0)
                XCTAssertEqual(signature.pointee.registers_only, 1)
                if !registers { signature.pointee.registers_only = 0; signature.pointee.scalars_in_registers = 0 }
                record.storeBytes(of: field, as: UInt64.self)
                result.storeBytes(of: .max, as: UInt64.self) // not zero-filled: the call must clear the slot itself
                XCTAssertEqual(fl_signature_invoke(signature, try symbol(name), record.assumingMemoryBound(to: UInt8.self), 8,
                                                   result.assumingMemoryBound(to: UInt8.self)), 0)
                slots.append(result.load(as: UInt64.self))
            }
            XCTAssertEqual(slots[0], slots[1], "\(name): registers vs libffi")
            return slots[0]
        }
        // A bool byte of 2 is true: !true is false. Passed through unnormalized, C's `!b` on 2 gives 3.
        XCTAssertEqual(try invoke("fl_sig_not", returning: FL_TYPE_BOOL, FL_TYPE_BOOL, field: 2), 0)
        XCTAssertEqual(try invoke("fl_sig_not", returning: FL_TYPE_BOOL, FL_TYPE_BOOL, field: 0), 1)
        // int8 -1: one byte 0xff, the other seven zero (not the sign-extended register).
        XCTAssertEqual(try invoke("fl_sig_i8_of", returning: FL_TYPE_INT8, FL_TYPE_INT32, field: 0xff), 0xff)
        XCTAssertEqual(try invoke("fl_sig_i64", returning: FL_TYPE_INT64, FL_TYPE_INT64, field: UInt64(bitPattern: -2)),
                       UInt64(bitPattern: -2))
        // Called as void, the value left in the return register is not reported: the slot is all zero.
        XCTAssertEqual(try invoke("fl_sig_u64", returning: FL_TYPE_VOID, FL_TYPE_UINT64, field: 12345), 0)
    }

    /// Every scalar type through both ways of calling — the register trampoline
    /// and libffi — with garbage in the bytes of each field beyond its type
    /// (which the record's contract says are ignored), and a mixed signature
    /// with a string, bytes and an output buffer.
    func testRegisterCallsAndLibffiAgree() throws {
        let garbage: UInt64 = 0xa5a5_5a5a_c3c3_3c3c
        func both(_ name: String, _ returning: fl_type, _ parameters: [fl_type], record: [UInt64],
                  capacities: [UInt64]? = nil, resultSize: Int = 8, file: StaticString = #filePath, line: UInt = #line) throws -> [UInt8] {
            let signature = UnsafeMutablePointer<fl_signature>.allocate(capacity: 1)
            defer { signature.deallocate() }
            var results: [[UInt8]] = []
            for registers in [true, false] {
                XCTAssertEqual(fl_signature_prepare(signature, returning.rawValue, parameters.map(\.rawValue), capacities,
                                                    UInt32(parameters.count)), 0, file: file, line: line)
                XCTAssertEqual(signature.pointee.registers_only, 1, "\(name) fits the registers", file: file, line: line)
                if !registers { signature.pointee.registers_only = 0; signature.pointee.scalars_in_registers = 0 }
                let result = UnsafeMutableRawPointer.allocate(byteCount: resultSize, alignment: 16)
                defer { result.deallocate() }
                result.initializeMemory(as: UInt8.self, repeating: 0, count: resultSize)
                let status = record.withUnsafeBytes {
                    fl_signature_invoke(signature, try? symbol(name), $0.baseAddress!.assumingMemoryBound(to: UInt8.self), $0.count,
                                        result.assumingMemoryBound(to: UInt8.self))
                }
                XCTAssertEqual(status, 0, name, file: file, line: line)
                results.append(Array(UnsafeRawBufferPointer(start: result, count: resultSize)))
            }
            XCTAssertEqual(results[0], results[1], "\(name): registers vs libffi", file: file, line: line)
            return results[0]
        }
        func field<T>(_ value: T) -> UInt64 {
            var word = garbage
            withUnsafeMutableBytes(of: &word) { word in withUnsafeBytes(of: value) { word.copyMemory(from: $0) } }
            return word
        }
        func slot(_ bytes: [UInt8]) -> UInt64 { bytes.withUnsafeBytes { $0.load(as: UInt64.self) } }
        XCTAssertEqual(slot(try both("fl_sig_add_i8", FL_TYPE_INT8, [FL_TYPE_INT8, FL_TYPE_INT8], record: [field(Int8(-100)), field(Int8(-100))])),
                       UInt64(UInt8(bitPattern: Int8(truncatingIfNeeded: -200))))
        XCTAssertEqual(slot(try both("fl_sig_neg_i16", FL_TYPE_INT16, [FL_TYPE_INT16], record: [field(Int16(-32768))])), 0x8000)
        XCTAssertEqual(slot(try both("fl_sig_mul_i32", FL_TYPE_INT32, [FL_TYPE_INT32, FL_TYPE_INT32], record: [field(Int32(-3)), field(Int32(5))])),
                       UInt64(UInt32(bitPattern: -15)))
        XCTAssertEqual(slot(try both("fl_sig_u8", FL_TYPE_UINT8, [FL_TYPE_UINT8], record: [field(UInt8(255))])), 0)
        XCTAssertEqual(slot(try both("fl_sig_u16", FL_TYPE_UINT16, [FL_TYPE_UINT16], record: [field(UInt16(0x1234))])), 0xedcb)
        XCTAssertEqual(slot(try both("fl_sig_u32", FL_TYPE_UINT32, [FL_TYPE_UINT32], record: [field(UInt32(7))])), 21)
        XCTAssertEqual(slot(try both("fl_sig_not", FL_TYPE_BOOL, [FL_TYPE_BOOL], record: [field(UInt8(2))])), 0)
        XCTAssertEqual(slot(try both("fl_sig_is_positive", FL_TYPE_BOOL, [FL_TYPE_INT64], record: [UInt64(bitPattern: -1)])), 0)
        XCTAssertEqual(slot(try both("fl_sig_f", FL_TYPE_FLOAT, [FL_TYPE_FLOAT, FL_TYPE_DOUBLE], record: [field(Float(1.25)), field(0.5)])),
                       UInt64(Float(3).bitPattern))
        XCTAssertEqual(slot(try both("fl_sig_d", FL_TYPE_DOUBLE, [FL_TYPE_DOUBLE], record: [field(-8.0)])), (-2.0).bitPattern)
        // int32(string): a record of length 3, "abc", NUL, padding.
        XCTAssertEqual(slot(try both("fl_sig_strlen", FL_TYPE_INT32, [FL_TYPE_STRING], record: [3, 0x63_6261])), 3)
        // void(bytes, out_bytes[6]): the reversed bytes land in the result record after the return slot.
        let reversed = try both("fl_sig_reverse", FL_TYPE_VOID, [FL_TYPE_BYTES, FL_TYPE_OUT_BYTES], record: [4, 0x0403_0201],
                                capacities: [0, 6], resultSize: 16)
        XCTAssertEqual(Array(reversed[8..<14]), [4, 3, 2, 1, 0, 0])
        XCTAssertEqual(slot(reversed), 0)
    }

    func testABatchOfGuardedSignatureCallsMatchesOneAtATime() throws {
        let words = ["a", "crash", "abc", "", "crash", String(repeating: "z", count: 300)]
        let strategy = GuardStrategy(try Fixtures.function("fl_sig_crash_on", "int32(string)"))
        let batch = try strategy.call(argumentLists: words.map { [.string($0)] })
        XCTAssertEqual(batch.count, words.count)
        for (index, word) in words.enumerated() {
            let single = try strategy.call(arguments: [.string(word)])
            if word == "crash" {
                XCTAssertEqual(batch[index].signal, .segmentationFault, word)
                XCTAssertEqual(single.signal, .segmentationFault, word)
            } else {
                XCTAssertEqual(batch[index], .returned(.int32(Int32(word.utf8.count)), out: []), word)
                XCTAssertEqual(batch[index], single, word)
            }
        }
        XCTAssertEqual(Set(batch.failures.keys), [1, 4])
        // Output buffers come back per call; a list that does not fit throws before any call.
        let fill = GuardStrategy(try Fixtures.function("fl_sig_fill", "void(string, out_string[8])"))
        XCTAssertEqual(Array(try fill.call(argumentLists: [[.string("hi")], [.string("abcdefghij")]])),
                       [.returned(.void, out: [.string("hi!")]), .returned(.void, out: [.string("abcdefg")])])
        XCTAssertThrowsError(try fill.call(argumentLists: [[.string("ok")], [.int32(1)]]))
    }
}
