import FHECore
import Testing

@Suite("ServerKeyCache")
struct ServerKeyCacheTests {
    static let server = TestKeyCache.shared.keys(for: TestParameters.insecureSmall).server

    @Test("Bounded by decoded bytes, least recently used evicted first")
    func evictsByBytes() throws {
        let key = Self.server, size = key.byteCount
        #expect(size > 1 << 20, "a key is megabytes: \(size)")
        let cache = ServerKeyCache(byteLimit: 2 * size + size / 2)
        cache.put("a", key)
        cache.put("b", key)
        #expect(cache.get("a") === key) // a is now the most recently used
        cache.put("c", key)             // three keys exceed 2.5 keys: b goes
        #expect(cache.get("b") == nil)
        #expect(cache.get("a") === key && cache.get("c") === key)
        #expect(cache.count == 2 && cache.bytes == 2 * size)
    }

    @Test("A key larger than the limit is kept alone; a zero limit keeps nothing")
    func edgeLimits() throws {
        let small = ServerKeyCache(byteLimit: 1)
        small.put("a", Self.server)
        small.put("b", Self.server)
        #expect(small.count == 1 && small.get("b") === Self.server)
        let none = ServerKeyCache(byteLimit: 0)
        var decoded = 0
        for _ in 0..<2 { _ = none.key("a") { decoded += 1; return Self.server } }
        #expect(none.count == 0 && decoded == 2)
        let cache = ServerKeyCache(byteLimit: 1 << 30)
        decoded = 0
        for _ in 0..<3 { _ = cache.key("a") { decoded += 1; return Self.server } }
        #expect(decoded == 1 && cache.parameterSets == [TestParameters.insecureSmall.name])
    }
}
