// The element-wise and attention kernels as one set of entry points, which every vector path
// implements: `SIMDKernels` of VectorKernels (portable), VectorKernelsAVX2 and VectorKernelsAVX512,
// one Swift source (Sources/VectorKernels) built for each instruction set. `Kernels` picks a
// set at start-up (`KernelPath`) and forwards its public functions, documented there, to it.
// Written by scripts/gen_kernel_set.py.

public protocol KernelSet {
    /// The instructions this build of the loops uses: "avx512", "avx2+fma", "sse2" or "neon".
    static var instructionSet: String { get }

    // Activation
    static func activationForward(
        out: UnsafeMutablePointer<Float>, inp: UnsafePointer<Float>, count: Int, kind: Activation
    )
    static func biasActivationInPlace(
        _ x: UnsafeMutablePointer<Float>, bias: UnsafePointer<Float>, rows: Int, columns: Int, kind: Activation
    )

    // ActivationBackward
    static func activationBackward(
        dinp: UnsafeMutablePointer<Float>, dout: UnsafePointer<Float>, pre: UnsafePointer<Float>, count: Int,
        kind: Activation
    )

    // Attention
    static func attentionForward(
        ctx: UnsafeMutablePointer<Float>, att: UnsafeMutablePointer<Float>, qkv: UnsafePointer<Float>,
        mask: UnsafePointer<Float>, batch: Int, seq: Int, channels: Int, heads: Int, saveProbabilities: Bool,
        dropout: DropoutMask?, dropped: UnsafeMutablePointer<Float>?, allowFused: Bool,
        qkvBias: UnsafePointer<Float>?
    )

    // AttentionBackward
    static func attentionBackward(
        dqkv: UnsafeMutablePointer<Float>, dctx: UnsafePointer<Float>, att: UnsafePointer<Float>,
        qkv: UnsafePointer<Float>, scratch: UnsafeMutablePointer<Float>, dropout: DropoutMask?, batch: Int, seq: Int,
        channels: Int, heads: Int
    )

    // AttentionInt8
    static func attentionForwardInt8(
        ctx: UnsafeMutablePointer<Float>, qkv: UnsafePointer<Float>, qkvBias: UnsafePointer<Float>,
        mask: UnsafePointer<Float>, batch: Int, seq: Int, channels: Int, heads: Int, scratch: UnsafeMutableRawPointer
    )

    // BF16
    static func convertToBF16(out: UnsafeMutablePointer<UInt16>, inp: UnsafePointer<Float>, count: Int)

    // CrossEntropy
    static func crossEntropyForward(
        probs: UnsafeMutablePointer<Float>, logits: UnsafePointer<Float>, targets: UnsafePointer<Int32>, batch: Int,
        classes: Int, ignoreIndex: Int
    ) -> (sum: Double, count: Int)
    static func crossEntropyBackward(
        dlogits: UnsafeMutablePointer<Float>, stride: Int, probs: UnsafePointer<Float>,
        targets: UnsafePointer<Int32>, batch: Int, classes: Int, ignoreIndex: Int, count: Int, weight: Float
    )

    // Dropout
    static func dropoutForward(_ x: UnsafeMutablePointer<Float>, count: Int, mask: DropoutMask)
    static func dropoutBackward(
        dinp: UnsafeMutablePointer<Float>, dout: UnsafePointer<Float>, count: Int, mask: DropoutMask
    )

    // Embedding
    static func embeddingForward(
        out: UnsafeMutablePointer<Float>, ids: UnsafePointer<Int32>, types: UnsafePointer<Int32>,
        positions: UnsafePointer<Int32>?, wordTable: UnsafePointer<Float>, positionTable: UnsafePointer<Float>?,
        typeTable: UnsafePointer<Float>?, batch: Int, seq: Int, channels: Int
    )
    static func embeddingBackward(
        dwordTable: UnsafeMutablePointer<Float>, dpositionTable: UnsafeMutablePointer<Float>?,
        dtypeTable: UnsafeMutablePointer<Float>?, dout: UnsafePointer<Float>, ids: UnsafePointer<Int32>,
        types: UnsafePointer<Int32>, positions: UnsafePointer<Int32>?, paddingIndex: Int?,
        positionPaddingIndex: Int?, batch: Int, seq: Int, channels: Int
    )

    // Int8
    static func quantizeRowsInt8(
        out: UnsafeMutablePointer<Int8>, scales: UnsafeMutablePointer<Float>, inp: UnsafePointer<Float>, rows: Int,
        columns: Int
    )
    static func scaleRows(_ x: UnsafeMutablePointer<Float>, scales: UnsafePointer<Float>, rows: Int, columns: Int)

    // LayerNorm
    static func layerNormForward(
        out: UnsafeMutablePointer<Float>, mean: UnsafeMutablePointer<Float>, rstd: UnsafeMutablePointer<Float>,
        inp: UnsafePointer<Float>, weight: UnsafePointer<Float>, bias: UnsafePointer<Float>, rows: Int,
        channels: Int, eps: Float
    )
    static func residualLayerNormForward(
        out: UnsafeMutablePointer<Float>, mean: UnsafeMutablePointer<Float>, rstd: UnsafeMutablePointer<Float>,
        x: UnsafeMutablePointer<Float>, residual: UnsafePointer<Float>, denseBias: UnsafePointer<Float>?,
        weight: UnsafePointer<Float>, bias: UnsafePointer<Float>, rows: Int, channels: Int, eps: Float
    )

    // LayerNormBackward
    static func layerNormBackward(
        dinp: UnsafeMutablePointer<Float>, dweight: UnsafeMutablePointer<Float>, dbias: UnsafeMutablePointer<Float>,
        dout: UnsafePointer<Float>, inp: UnsafePointer<Float>, weight: UnsafePointer<Float>,
        mean: UnsafePointer<Float>, rstd: UnsafePointer<Float>, rows: Int, channels: Int,
        scratch: UnsafeMutablePointer<Float>, branch: UnsafeMutablePointer<Float>?, branchDropout: DropoutMask?
    )

    // Matmul
    static func matmulForward(
        out: UnsafeMutablePointer<Float>, inp: UnsafePointer<Float>, weight: UnsafePointer<Float>,
        bias: UnsafePointer<Float>?, rows: Int, inFeatures: Int, outFeatures: Int, bf16: BF16Operands?
    )
    static func matmulActivationForward(
        pre: UnsafeMutablePointer<Float>, out: UnsafeMutablePointer<Float>, inp: UnsafePointer<Float>,
        weight: UnsafePointer<Float>, bias: UnsafePointer<Float>?, rows: Int, inFeatures: Int, outFeatures: Int,
        activation: Activation, bf16: BF16Operands?
    )

    // MatmulBackward
    static func matmulBackward(
        dinp: UnsafeMutablePointer<Float>?, dweight: UnsafeMutablePointer<Float>,
        dbias: UnsafeMutablePointer<Float>?, dout: UnsafePointer<Float>, inp: UnsafePointer<Float>,
        weight: UnsafePointer<Float>, rows: Int, inFeatures: Int, outFeatures: Int, accumulateInput: Bool,
        throughActivation: (pre: UnsafePointer<Float>, kind: Activation)?, bf16: BF16Operands?
    )

    // RelativeAttention
    static func relativeAttentionForward(
        ctx: UnsafeMutablePointer<Float>, att: UnsafeMutablePointer<Float>, qkv: UnsafePointer<Float>,
        mask: UnsafePointer<Float>, positions: RelativeAttentionPositions, scratch: UnsafeMutablePointer<Float>,
        batch: Int, seq: Int, channels: Int, heads: Int, saveProbabilities: Bool, dropout: DropoutMask?,
        dropped: UnsafeMutablePointer<Float>?
    )
    static func relativeAttentionBackward(
        dqkv: UnsafeMutablePointer<Float>, dKeys: UnsafeMutablePointer<Float>?,
        dQueries: UnsafeMutablePointer<Float>?, dctx: UnsafePointer<Float>, att: UnsafePointer<Float>,
        qkv: UnsafePointer<Float>, mask: UnsafePointer<Float>, positions: RelativeAttentionPositions,
        scratch: UnsafeMutablePointer<Float>, dropout: DropoutMask?, batch: Int, seq: Int, channels: Int, heads: Int
    )

    // Vectors
    static func addInPlace(_ x: UnsafeMutablePointer<Float>, _ y: UnsafePointer<Float>, count: Int)
    static func addRowBias(_ x: UnsafeMutablePointer<Float>, _ bias: UnsafePointer<Float>, rows: Int, columns: Int)
}
