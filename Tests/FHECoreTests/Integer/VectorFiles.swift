import Foundation

/// Locates known-answer files: the repository's `vectors/` and the shared folder beside the checkout.
enum VectorFiles {
    static let repositoryRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    static let smallSet = repositoryRoot.appendingPathComponent("vectors/tfhe-rs-0.5-small")
    static let realSet = repositoryRoot.deletingLastPathComponent().appendingPathComponent("shared/vectors/tfhe-rs-0.5/real")

    struct Comparison: Decodable {
        let ciphertext_file: String
        let plaintext: UInt64
        let price: UInt64
        let scalar_le: Bool
        let scalar_ge: Bool
        let le_result_file: String?
        let ge_result_file: String?
    }

    struct Manifest: Decodable {
        let comparisons: [Comparison]
    }

    static func manifest(_ folder: URL) throws -> Manifest {
        try JSONDecoder().decode(Manifest.self, from: Data(contentsOf: folder.appendingPathComponent("manifest.json")))
    }
}
