/// Keyswitching key from an input LWE key S (dimension m) to an output key s (dimension n):
/// for each input coefficient i and level ℓ, an LWE encryption under s of S_i · 2^(64 − β·ℓ).
/// Stored level 1 first: row (i, ℓ) at ((i·L) + ℓ − 1) · (n + 1). (tfhe-rs stores level L first;
/// the wire codec reorders.)
///
/// Each word keeps only its top 32 bits, rounded: the keyswitch output is only modulus-switched to
/// 2N afterwards, the rounding adds noise of about 2^38 against 2^55 of keyswitch noise, and the
/// key halves in size (see docs/parameters.md, "keyswitch precision").
public final class LweKeyswitchKey: @unchecked Sendable {
    public let inputDimension: LweDimension
    public let outputDimension: LweDimension
    public let baseLog: DecompositionBaseLog
    public let levels: DecompositionLevelCount
    let storage: AlignedBuffer<UInt32>

    init(inputDimension: LweDimension, outputDimension: LweDimension, baseLog: DecompositionBaseLog,
         levels: DecompositionLevelCount, storage: AlignedBuffer<UInt32>) {
        precondition(storage.count == inputDimension.value * levels.value * outputDimension.size.value)
        self.inputDimension = inputDimension
        self.outputDimension = outputDimension
        self.baseLog = baseLog
        self.levels = levels
        self.storage = storage
    }

    /// Words of the whole key.
    public var wordCount: Int { storage.count }

    /// Row (input coefficient i, level ℓ in 1…L): one LWE ciphertext under the output key.
    func row(input i: Int, level: Int) -> UnsafeMutablePointer<UInt32> {
        storage.pointer + ((i * levels.value) + level - 1) * outputDimension.size.value
    }
}
