/// Consistent Overhead Byte Stuffing (Cheshire and Baker, 1999): removes every 0x00 from a frame so
/// that 0x00 can delimit frames on the byte stream, at a cost of one byte per started 254 bytes.
public enum COBS {
    /// Encodes bytes so that the result holds no 0x00.
    /// - Parameters:
    ///   - bytes: the bytes to encode.
    ///   - output: where the encoded bytes are appended.
    public static func encode(_ bytes: some Collection<UInt8>, into output: inout [UInt8]) {
        var codeIndex = output.count
        output.append(0)  // placeholder for the first code byte
        var code: UInt8 = 1
        for byte in bytes {
            if byte == 0 {
                output[codeIndex] = code
                codeIndex = output.count
                output.append(0)
                code = 1
            } else {
                output.append(byte)
                code += 1
                if code == 0xFF {
                    output[codeIndex] = code
                    codeIndex = output.count
                    output.append(0)
                    code = 1
                }
            }
        }
        output[codeIndex] = code
    }

    /// Decodes COBS bytes (without delimiter).
    /// - Parameters:
    ///   - encoded: the encoded bytes; none may be 0x00.
    ///   - output: where the decoded bytes are appended.
    /// - Returns: `false` if the bytes are not valid COBS (a zero, or a code that runs past the end);
    ///   `output` then holds a partial result that the caller must discard.
    public static func decode(_ encoded: some Collection<UInt8>, into output: inout [UInt8]) -> Bool {
        var index = encoded.startIndex
        while index != encoded.endIndex {
            let code = encoded[index]
            if code == 0 { return false }
            index = encoded.index(after: index)
            for _ in 1..<Int(code) {
                guard index != encoded.endIndex else { return false }
                let byte = encoded[index]
                if byte == 0 { return false }
                output.append(byte)
                index = encoded.index(after: index)
            }
            // A code below 0xFF stands for its run followed by a zero, except at the very end,
            // where the zero is the one COBS appends implicitly and is not part of the data.
            if code < 0xFF && index != encoded.endIndex {
                output.append(0)
            }
        }
        return true
    }
}
