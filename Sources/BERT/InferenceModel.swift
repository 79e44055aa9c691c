import Foundation
import Kernels

/// One encoder layer's linear layers packed once for inference (`PackedLinear`), in fp32, bf16 or
/// int8.
/// The biases of q|k|v, attention-output and output are added by the fp32 kernels that follow
/// them (as in the sgemm inference path). The intermediate layer's bias and activation: in bf16
/// inside the product, which hands the output dense a bf16 input directly; in fp32 by bertqa's
/// own pass after it (`biasActivationInPlace`), as oneDNN's GELU post-op ran slower here.
///
/// DeBERTa's layers also keep their position projections: in eval mode the c2p keys and p2c
/// queries of LayerNorm(rel_embeddings) depend on the weights alone, so the snapshot computes
/// them once instead of in every forward (two (2S,C)×(C,C) products per layer).
struct PackedBertLayer: Sendable {
    let qkv: PackedLinear
    let attentionOutput: PackedLinear
    let intermediate: PackedLinear
    let output: PackedLinear
    var relativePositions: ProjectedPositions?
    var precision: InferencePrecision { qkv.precision }
    /// Whether attention's two products run in int8 too (`attentionForwardInt8`): int8 layers on
    /// a CPU whose int8 products are exact (VNNI), for a head size the kernel takes, in a model
    /// without relative attention (DeBERTa's runs `relativeAttentionForward`, in fp32).
    let int8Attention: Bool

    /// (2S,C) each: one layer's keys and queries of the relative embeddings, in fp32.
    struct ProjectedPositions: Sendable {
        let storage: FloatBuffer
        let rows: Int, channels: Int
        var keys: UnsafePointer<Float> { UnsafePointer(storage.pointer) }
        var queries: UnsafePointer<Float> { UnsafePointer(storage.pointer + rows * channels) }

        init(_ layer: BertLayer, _ relative: RelativeEmbeddings, normalized: UnsafePointer<Float>, _ p: UnsafeMutablePointer<Float>) {
            rows = relative.rows
            channels = layer.attention.selfAttention.query.inFeatures
            storage = FloatBuffer(count: 2 * rows * channels)
            layer.projectPositions(p, normalized, relative, keys: storage.pointer, queries: storage.pointer + rows * channels)
        }
    }

    init(_ layer: BertLayer, _ p: UnsafePointer<Float>, precision: InferencePrecision, relativeAttention: Bool) throws {
        let sa = layer.attention.selfAttention, C = sa.query.inFeatures, I = layer.intermediate.dense.outFeatures
        qkv = try PackedLinear(weight: p + sa.qkv.weight.offset, bias: nil, inFeatures: C, outFeatures: 3 * C,
                               precision: precision)
        attentionOutput = try PackedLinear(weight: p + layer.attention.output.dense.weight.offset, bias: nil,
                                           inFeatures: C, outFeatures: C, precision: precision)
        let bf16 = precision == .bf16
        // int8 leaves the intermediate's bias and activation to the fp32 pass after it, as fp32 does.
        intermediate = try PackedLinear(weight: p + layer.intermediate.dense.weight.offset,
                                        bias: bf16 ? p + layer.intermediate.dense.bias.offset : nil,
                                        inFeatures: C, outFeatures: I, precision: precision,
                                        activation: bf16 ? layer.intermediate.activation : nil, bf16Output: bf16)
        output = try PackedLinear(weight: p + layer.output.dense.weight.offset, bias: nil, inFeatures: I, outFeatures: C,
                                  precision: precision)
        int8Attention = precision == .int8 && PackedLinear.hasInt8DotProducts && C / sa.heads <= 256 && !relativeAttention
    }
}

extension BertLayer {
    /// The checkpoint name of the first of its linear weights holding NaN or ±inf, if any: such a
    /// weight has no int8 scale (fp32 would carry the NaN into the logits; int8 refuses).
    func firstNonFiniteWeight(_ p: UnsafePointer<Float>) -> String? {
        let sa = attention.selfAttention
        for tensor in [sa.query.weight, sa.key.weight, sa.value.weight, attention.output.dense.weight,
                       intermediate.dense.weight, output.dense.weight]
        where UnsafeBufferPointer(start: p + tensor.offset, count: tensor.count).contains(where: { !$0.isFinite }) {
            return tensor.hfName.isEmpty ? tensor.name : tensor.hfName
        }
        return nil
    }
}

/// A `BertForQuestionAnswering` prepared for answering: a snapshot of its weights, with the
/// encoder's linear layers packed once for oneDNN's matmul kernels in the chosen precision
/// (fp32: the same arithmetic, faster products than sgemm on the weights as they are; bf16:
/// opt-in, not fp32 parity). Immutable, so it can be shared between threads, and nothing in it
/// can go stale: training the model it came from changes the model, not the snapshot (take a
/// new one to answer with the new weights). Every stored property is a `let` of a Sendable
/// type: the parameter buffer and the packed layers are written once, in `init`, and only read
/// after.
public final class BertInferenceModel: Sendable {
    public let config: BertConfig
    public let precision: InferencePrecision
    let architecture: BertArchitecture
    let parameters: FloatBuffer
    /// nil: the encoder's products run through sgemm on `parameters` (fp32 only).
    let packedLayers: [PackedBertLayer]?
    /// Bytes of `parameters` given back to the system once packed: the encoder's fp32 linear
    /// weights, which nothing reads after packing (the packed copies run every product; the
    /// biases, LayerNorms, embeddings and QA head stay). 0 without packed weights.
    public let releasedWeightBytes: Int

    /// Whether the encoder's products run on packed weights rather than through sgemm on the
    /// weights as they are.
    public var hasPackedWeights: Bool { packedLayers != nil }
    /// How the encoder's products run, for reports: "sgemm on the weights", or "on packed weights
    /// (oneDNN matmul)" / "(oneDNN 1×1 convolution)", then " and int8 attention" where it runs.
    public var productsDescription: String {
        guard let layer = packedLayers?.first else { return "sgemm on the weights" }
        return "on packed weights (oneDNN \(layer.qkv.primitiveDescription))" + (hasInt8Attention ? " and int8 attention" : "")
    }

    /// Whether attention's products run in int8 too (int8 on a CPU with VNNI; not DeBERTa's
    /// relative attention), for reports.
    public var hasInt8Attention: Bool { packedLayers?.first?.int8Attention ?? false }

    /// A snapshot of `model`'s weights (copied) for inference in `precision`. `packedWeights`:
    /// nil packs where it pays on this CPU (`PackedLinear.paysOff(for:)`: bf16 always, fp32 where
    /// oneDNN has blocked-layout kernels: AVX-512's matmul, AVX2's 1×1 convolution); false keeps the weights as they are (sgemm, fp32 only;
    /// saves the packed copy's memory); true packs. Throws when the CPU has no bf16 matrix
    /// kernels; for fp32 without packed kernels on this CPU it falls back to sgemm.
    public convenience init(_ model: BertForQuestionAnswering, precision: InferencePrecision = .fp32,
                            packedWeights: Bool? = nil) throws {
        let copy = FloatBuffer(count: model.parameters.count)
        copy.pointer.update(from: model.parameters.pointer, count: model.parameters.count)
        try self.init(config: model.config, architecture: model.architecture, parameters: copy,
                      precision: precision, packedWeights: packedWeights)
    }

    /// Loads a Hugging Face checkpoint folder straight into a snapshot (no second copy of the
    /// weights). Returns what `BertForQuestionAnswering.load` reports too.
    public static func load(from directory: URL, precision: InferencePrecision = .fp32,
                            packedWeights: Bool? = nil) throws -> (model: BertInferenceModel, report: LoadReport) {
        let (model, report) = try BertForQuestionAnswering.load(from: directory)
        let snapshot = try BertInferenceModel(config: model.config, architecture: model.architecture,
                                              parameters: model.parameters, precision: precision,
                                              packedWeights: packedWeights)
        return (snapshot, report)
    }

    private init(config: BertConfig, architecture: BertArchitecture, parameters: FloatBuffer,
                 precision: InferencePrecision, packedWeights: Bool?) throws {
        let packedWeights = packedWeights ?? PackedLinear.paysOff(for: precision)
        if precision != .fp32 && !packedWeights {
            throw BertError.invalidInput("\(precision.rawValue) inference needs packed weights")
        }
        self.config = config
        self.architecture = architecture
        self.parameters = parameters
        let p = UnsafePointer(parameters.pointer)
        var packed: [PackedBertLayer]? = nil
        if packedWeights {
            do {
                // ALBERT's layers share weights: pack each shared layer once.
                var byOffset: [Int: PackedBertLayer] = [:]
                packed = try architecture.encoder.layers.map { layer in
                    let key = layer.attention.selfAttention.qkv.weight.offset
                    if let done = byOffset[key] { return done }
                    let made = try PackedBertLayer(layer, p, precision: precision,
                                                   relativeAttention: architecture.encoder.relative != nil)
                    byOffset[key] = made
                    return made
                }
            } catch let error as PackedLinearError {
                switch precision {
                case .bf16:
                    throw BertError.invalidInput("bf16 inference needs a CPU with AMX or avx512_bf16 instructions; "
                        + "this one runs \(GEMM.instructionSets): use fp32 (\(error))")
                case .int8:
                    // Quantizing refuses a weight holding NaN or ±inf: name it (looked for only
                    // now, so a healthy model's weights are read once).
                    for (index, layer) in architecture.encoder.layers.enumerated() {
                        if let bad = layer.firstNonFiniteWeight(p) {
                            throw BertError.invalidInput("cannot quantize layer \(index) to int8: \(bad) holds NaN or ±inf")
                        }
                    }
                    throw BertError.invalidInput("int8 inference failed to prepare on this CPU (\(GEMM.instructionSets)): \(error)")
                case .fp32:
                    break  // sgemm on the weights as they are
                }
            }
        }
        if let relative = architecture.encoder.relative, let layers = packed {
            let R = relative.rows, normalized = FloatBuffer(count: R * config.hiddenSize)
            let statistics = FloatBuffer(count: 2 * R)
            relative.normalize(parameters.pointer, out: normalized.pointer, mean: statistics.pointer, rstd: statistics.pointer + R)
            var byOffset: [Int: PackedBertLayer.ProjectedPositions] = [:]
            packed = zip(architecture.encoder.layers, layers).map { layer, packedLayer in
                let key = layer.attention.selfAttention.qkv.weight.offset
                let projected = byOffset[key] ?? .init(layer, relative, normalized: normalized.pointer, parameters.pointer)
                byOffset[key] = projected
                var withPositions = packedLayer
                withPositions.relativePositions = projected
                return withPositions
            }
        }
        self.packedLayers = packed
        self.precision = packed == nil ? .fp32 : precision
        // Last: DeBERTa's position projections above read the weights this releases.
        releasedWeightBytes = packed == nil ? 0 : Self.releaseLinearWeights(of: architecture, in: parameters)
    }

    /// Gives the pages wholly inside the encoder's linear weights back to the system
    /// (`madvise(MADV_DONTNEED)`: they read as zeros afterwards, and cost no memory unless
    /// written). Without it a packed snapshot holds each weight twice — BERT-base fp32 ~330 MB
    /// more, int8 ~4× its packed weights. Returns the bytes released.
    private static func releaseLinearWeights(of architecture: BertArchitecture, in parameters: FloatBuffer) -> Int {
        #if os(Linux)
        let page = sysconf(Int32(_SC_PAGESIZE))
        guard page > 0 else { return 0 }
        var released = 0, done = Set<Int>()  // ALBERT's layers share one layer's weights
        for layer in architecture.encoder.layers {
            for weight in layer.linearWeights where done.insert(weight.offset).inserted {
                let start = Int(bitPattern: parameters.pointer + weight.offset)
                let first = (start + page - 1) / page * page, end = (start + MemoryLayout<Float>.stride * weight.count) / page * page
                guard end > first, let pointer = UnsafeMutableRawPointer(bitPattern: first),
                      madvise(pointer, end - first, MADV_DONTNEED) == 0 else { continue }
                released += end - first
            }
        }
        return released
        #else
        return 0
        #endif
    }

    /// Runs the model on `batch` (eval mode); start/end logits land in the workspace.
    public func forward(_ batch: BertBatch, workspace ws: BertWorkspace) throws {
        try architecture.forward(batch, config: config, parameters: parameters.pointer, workspace: ws,
                                 packed: packedLayers)
    }

    /// Convenience: one forward with a fresh workspace, logits returned as arrays.
    public func predict(_ batch: BertBatch) throws -> (startLogits: [Float], endLogits: [Float]) {
        try BertWorkspace.logits(config: config, batch: batch, forward)
    }

    /// Model FLOPs of one forward pass, for reports.
    public func forwardFLOPs(batch: Int, sequence: Int) -> Double {
        config.forwardFLOPs(batch: batch, sequence: sequence)
    }
}
