/// Homomorphic linear operations on LWE ciphertexts (wrapping arithmetic on every word).
extension LweCiphertext {
    public static func + (a: LweCiphertext, b: LweCiphertext) -> LweCiphertext {
        var out = a
        out += b
        return out
    }

    public static func += (a: inout LweCiphertext, b: LweCiphertext) {
        precondition(a.words.count == b.words.count, "adding ciphertexts of sizes \(a.words.count) and \(b.words.count)")
        for i in a.words.indices { a.words[i] &+= b.words[i] }
    }

    public static func - (a: LweCiphertext, b: LweCiphertext) -> LweCiphertext {
        precondition(a.words.count == b.words.count, "subtracting ciphertexts of sizes \(a.words.count) and \(b.words.count)")
        var out = a
        for i in out.words.indices { out.words[i] &-= b.words[i] }
        return out
    }

    /// Multiplies the encrypted value (and its noise) by a small integer.
    public func scaled(by factor: UInt64) -> LweCiphertext {
        LweCiphertext(words: words.map { $0 &* factor })
    }

    /// Adds a torus plaintext to the encrypted value (body only; noise unchanged).
    public func addingPlaintext(_ plaintext: UInt64) -> LweCiphertext {
        var out = self
        out.body &+= plaintext
        return out
    }

    /// Subtracts a torus plaintext from the encrypted value.
    public func subtractingPlaintext(_ plaintext: UInt64) -> LweCiphertext {
        var out = self
        out.body &-= plaintext
        return out
    }
}
