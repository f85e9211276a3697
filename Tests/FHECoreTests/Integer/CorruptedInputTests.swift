import FHECore
import Foundation
import Testing

/// Regression cases: every file in vectors/corrupted/<decoder>/ must be rejected with FHECoreError.
@Suite("Corrupted tfhe-rs inputs (regression files)")
struct CorruptedInputTests {
    static let folder = VectorFiles.repositoryRoot.appendingPathComponent("vectors/corrupted")

    @Test("Every corrupted file is rejected with a typed error", arguments: ["radix", "boolean", "clientkey", "serverkey"])
    func rejected(decoder: String) throws {
        let p = ParameterSet.insecureTfheRs05Small
        let files = try FileManager.default.contentsOfDirectory(at: Self.folder.appendingPathComponent(decoder),
                                                                includingPropertiesForKeys: nil)
        #expect(files.count >= 4)
        for file in files {
            let data = try Data(contentsOf: file)
            let outcome: Result<Void, any Error> = data.withUnsafeBytes { bytes in
                Result {
                    switch decoder {
                    case "radix": _ = try TfheRs05.decodeRadixCiphertext(bytes, parameters: p)
                    case "boolean": _ = try TfheRs05.decodeBooleanBlock(bytes, parameters: p)
                    case "clientkey": _ = try TfheRs05.decodeRadixClientKey(bytes, parameters: p)
                    default:
                        let detected = try TfheRs05.detectServerKeyParameters(bytes, allowInsecureTestParameters: true)
                        _ = try TfheRs05.decodeServerKey(bytes, parameters: detected)
                    }
                }
            }
            switch outcome {
            case .success: Issue.record("\(decoder)/\(file.lastPathComponent) was accepted")
            case .failure(let error): #expect(error is FHECoreError, "\(file.lastPathComponent): \(error)")
            }
        }
    }
}
