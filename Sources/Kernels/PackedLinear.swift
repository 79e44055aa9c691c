import CDNNL
import Synchronization

// Linear layers for inference with their weights packed once, through oneDNN's matmul
// primitive, in one of two arithmetics:
// - fp32: the same arithmetic as `matmulForward` (fp32 products, fp32 accumulation; results
//   differ from sgemm's only by summation order). Why not sgemm: `dnnl_sgemm` repacks the
//   weights into its panel layout on every call; a primitive with weights reordered once into
//   its own blocked layout skips that and, at BERT's shapes here, ran 3–11 % faster than the
//   column-split sgemm the model uses (C probe on 2 AMD EPYC cores, docs/benchmarks-history.md). Inference
//   only: training changes the weights every step, which would need a repack per step.
// - bf16 (opt-in, not fp32): inputs and weights are rounded to bfloat16 (8 significant bits),
//   products accumulate in fp32, on AMX tiles or avx512_bf16 dot products. Measured on an
//   AMX host, 2.2–5× faster than dnnl_sgemm; outputs differ from fp32 by about 0.3 % of
//   their magnitude (docs/benchmarks-history.md, "bf16 inference").
// - int8 (opt-in, not fp32): weights quantized once, symmetric, one scale per output channel;
//   each input row quantized when the product runs, symmetric, one scale per row (a token: so a
//   window's result never depends on the other windows in its batch); integer products summed
//   exactly in int32 (oneDNN's u8·s8 kernels: VNNI dot products where the CPU has them), then
//   scaled back to fp32 — the weights' scales inside oneDNN's product, the rows' by
//   `scaleRows` after it. On CPUs without VNNI the kernels add pairs of u8·s8 products in
//   saturating 16-bit registers (oneDNN's "int8 computation nuances"): there the weights keep
//   7 bits (±63, as ONNX Runtime's reduce_range), so no pair can saturate and the integer sums
//   stay exact (`int8WeightLevels`).
//
// Where packing pays (`paysOff(for:)`): fp32 only where oneDNN has kernels on a blocked layout
// of its own. AVX-512 and up: its matmul (brgemm). AVX2: oneDNN 2.6's matmul there is only its
// sgemm driver ("gemm:jit", the plain layout; its split of one window's product over the cores
// ran 30 % below the model's own sgemm tiles on AMD EPYC Zen 1, 47.6 against 65–67 GFLOP/s),
// but its 1×1 convolution has a kernel of its own ("jit_1x1:avx2", weights blocked 8 × 8): a
// linear layer is a 1×1 convolution over a row of `rows` pixels whose channels are the
// features, and (rows, features) row-major is exactly that convolution's "nwc" layout, so
// inputs and outputs are bound as they are. With 12 layers' distinct weights a call (as in a
// pass), AVX2 forced on AMD EPYC Zen 4: 188–213 GFLOP/s against 166–195 for sgemm tiles at
// BERT-base's four shapes, 343 against 372 ms for all 48 products (median of 15;
// scripts/probes/conv1x1.c, 2026-12-06). Elsewhere inference runs sgemm on the weights as
// they are.
//
// A primitive is compiled per row count (oneDNN's fast kernels need the row count fixed; its
// runtime-rows variant took a slower generic path). oneDNN runs each product on its own
// OpenMP team — the one `Parallel` uses.

/// The arithmetic of inference's matrix products (a packed linear layer's).
public enum InferencePrecision: String, Sendable, CaseIterable {
    /// Everything in fp32: the logits match Hugging Face's within 1e-4 (the default).
    case fp32
    /// The encoder's four linear layers per block in bfloat16 (AMX tiles or avx512_bf16, fp32
    /// accumulation); embeddings, attention, LayerNorm and the QA head stay fp32. Opt-in. Logits
    /// move by a few thousandths (MiniLM-L6: ≤ 0.004 from HF's fp32 logits), and by ~0.002 with
    /// a window's place in the batch (the kernels differ by row count; on packed fp32 weights
    /// that effect is ~1e-6). Speed and SQuAD EM/F1: docs/benchmarks-history.md, "bf16 inference".
    case bf16
    /// The encoder's four linear layers per block in int8 (weights per output channel, inputs
    /// per row, exact int32 sums), and where oneDNN has VNNI attention's two products per head
    /// too (`attentionForwardInt8`; not DeBERTa's relative attention); everything else fp32.
    /// Opt-in: logits move by a few hundredths (BENCHMARKS.md, "int8 inference", "int8 attention").
    case int8

    var dataType: dnnl_data_type_t {
        switch self {
        case .fp32: dnnl_f32
        case .bf16: dnnl_bf16
        case .int8: dnnl_s8
        }
    }
    var inputBytes: Int {
        switch self {
        case .fp32: 4
        case .bf16: 2
        case .int8: 1
        }
    }
}

/// The oneDNN primitive that runs a packed layer's product (see the note at the top of this file).
enum PackedPrimitive: Sendable {
    /// out (rows, N) = inp (rows, K) · W (K, N): any precision.
    case matmul
    /// The same as a 1×1 convolution over `rows` pixels of K channels (fp32, AVX2).
    case convolution

    /// The weights' dimensions and plain layout as this primitive sees PyTorch's (N, K) matrix.
    func weightShape(inFeatures: Int, outFeatures: Int) -> (dims: [Int64], plainTag: dnnl_format_tag_t) {
        switch self {
        case .matmul: ([Int64(inFeatures), Int64(outFeatures)], dnnl_ba)  // the (K, N) matrix, "ba"
        case .convolution: ([Int64(outFeatures), Int64(inFeatures), 1], dnnl_oiw)  // (N, K, 1)
        }
    }

    /// The weights' descriptor with the layout left to oneDNN ("any").
    func anyLayoutWeights(inFeatures: Int, outFeatures: Int, _ dataType: dnnl_data_type_t) throws -> dnnl_memory_desc_t {
        var desc = dnnl_memory_desc_t()
        let dims = weightShape(inFeatures: inFeatures, outFeatures: outFeatures).dims
        try check(dnnl_memory_desc_init_by_tag(&desc, Int32(dims.count), dims, dataType, dnnl_format_tag_any), "weights descriptor")
        return desc
    }
}

/// Why a packed layer could not be built or run.
public struct PackedLinearError: Error, CustomStringConvertible {
    public let description: String
    init(_ description: String) { self.description = description }
}

private let nextLayerSerial = Atomic<Int>(0)

/// One oneDNN CPU engine for the process.
nonisolated(unsafe) private let engine: dnnl_engine_t? = {
    var e: dnnl_engine_t?
    return dnnl_engine_create(&e, dnnl_cpu, 0) == dnnl_success ? e : nil
}()

/// out (rows, N) = act(inp (rows, K) · weightᵀ + bias) in `precision` with fp32 accumulation;
/// `weight` is PyTorch's Linear layout (N, K) in fp32, converted and packed once at init (the
/// layer keeps no reference to it). The input is in `precision` (fp32 or bf16); `out` is fp32,
/// or bf16 when `bf16Output` (the input of the next bf16 layer). Thread-safe: primitives are
/// cached per row count behind a lock, the weights' and bias's memory objects are made once and
/// only read, and each caller brings its own scratchpad (its stream and other memory objects).
public final class PackedLinear: @unchecked Sendable {
    public let inFeatures: Int
    public let outFeatures: Int
    public let precision: InferencePrecision
    public let activation: Activation?
    public let bf16Output: Bool
    /// The primitive running the product: a convolution for fp32 on AVX2, else a matmul.
    let primitiveKind: PackedPrimitive
    /// "matmul" or "1×1 convolution", for reports.
    public var primitiveDescription: String { primitiveKind == .matmul ? "matmul" : "1×1 convolution" }
    private let packed: UnsafeMutableRawPointer
    private var packedDesc: dnnl_memory_desc_t
    private let bias: UnsafeMutablePointer<Float>?
    /// int8: each output channel's weight scale (max |w| / `int8WeightLevels`), applied by
    /// oneDNN as the product's output scales; empty otherwise.
    public let weightScales: [Float]
    /// Rows per piece of a long product (see `forward`): `pieceRows`, or for int8 on oneDNN's
    /// gemm driver (CPUs without VNNI) `int8GemmPieceRows`.
    private let rowsPerPiece: Int
    /// The memory objects of the packed weights and of the bias, made once at init (making one
    /// over a blocked layout zeroes its padding: never while another thread reads it).
    private var weightsMemory: dnnl_memory_t?
    private var biasMemory: dnnl_memory_t?
    private let primitives = Mutex<[Int: Compiled]>([:])
    /// This layer's number, unique in the process (keys the scratchpads' memory objects; an
    /// object's address could be reused by a later layer with other layouts).
    private let serial = nextLayerSerial.wrappingAdd(1, ordering: .relaxed).oldValue

    /// Whether this CPU has int8 dot products oneDNN uses (VNNI: avx512_vnni or AMX): where it
    /// does not, int8 products run at fp32's speed at best (BENCHMARKS.md, "int8 inference").
    public static var hasInt8DotProducts: Bool { int8WeightLevels == 127 }

    /// The largest int8 weight: 127 where oneDNN's int8 kernels sum u8·s8 products in int32
    /// directly (VNNI: avx512_vnni, AMX); 63 elsewhere, where its AVX2 / AVX-512 kernels add
    /// pairs of u8·s8 products in saturating 16-bit lanes (vpmaddubsw) — 2 · 255 · 63 = 32,130
    /// fits, 2 · 255 · 127 would not (measured here: sums halved). Inputs are s8, which oneDNN
    /// shifts to u8 (0...254) itself. Decided by the instruction set oneDNN will use, not by the
    /// CPU's flags: `ONEDNN_MAX_CPU_ISA=AVX2` on a VNNI CPU (CI's AVX2 lane) runs the
    /// saturating kernels. AVX-VNNI (`avx2_vnni`, 256-bit) keeps 63: oneDNN 2.6's matmul was not
    /// checked there.
    public static let int8WeightLevels: Float = GEMM.oneDNNUses(dnnl_cpu_isa_avx512_core_vnni) ? 127 : 63

    /// Bytes of the `staging` buffer a forward of `rows` rows from an fp32 input needs in
    /// `precision`: bf16's rounded input; int8's row scales (64-byte aligned) then its quantized
    /// input; none for fp32.
    public static func stagingBytes(precision: InferencePrecision, rows: Int, inFeatures: Int) -> Int {
        switch precision {
        case .fp32: 0
        case .bf16: 2 * rows * inFeatures
        case .int8: int8InputOffset(rows: rows) + rows * inFeatures
        }
    }

    private static func int8InputOffset(rows: Int) -> Int { (4 * rows + 63) / 64 * 64 }

    /// Whether packing `precision`'s weights pays on this CPU: bf16 and int8 always (their
    /// kernels need it); fp32 where oneDNN has a kernel on a blocked layout of its own (its
    /// matmul on AVX-512, its 1×1 convolution on AVX2; see the note at the top of this file).
    /// Asked once.
    public static func paysOff(for precision: InferencePrecision) -> Bool {
        precision != .fp32 || fp32Primitive != nil
    }

    /// The primitive for `precision`'s products: matmul, except fp32 where only the convolution
    /// has a blocked-layout kernel.
    static func primitiveKind(for precision: InferencePrecision) -> PackedPrimitive {
        precision == .fp32 ? fp32Primitive ?? .matmul : .matmul
    }

    /// fp32's primitive where one has a kernel of its own layout (probed once at BERT-base's
    /// shape; oneDNN picks by instruction set, not by size): nil where both run only sgemm.
    private static let fp32Primitive: PackedPrimitive? = {
        guard engine != nil else { return nil }
        for kind in [PackedPrimitive.matmul, .convolution] {
            guard var any = try? kind.anyLayoutWeights(inFeatures: 768, outFeatures: 3072, dnnl_f32),
                  let pd = try? primitiveDesc(kind, rows: 384, weights: &any, inFeatures: 768, outFeatures: 3072,
                                              precision: .fp32, hasBias: true, activation: nil, bf16Output: false,
                                              outputScales: [])
            else { continue }
            defer { dnnl_primitive_desc_destroy(pd) }
            let name = implementation(pd)
            // matmul: anything but the sgemm driver; convolution: the AVX2 1×1 kernel measured
            // (on AVX-512 the matmul is found first).
            if kind == .matmul ? !name.hasPrefix("gemm") : name.hasPrefix("jit_1x1:avx2") { return kind }
        }
        return nil
    }()

    /// Converts and packs `weight` (N = outFeatures rows of K = inFeatures). Throws when this
    /// CPU has no fast kernels for `precision` (oneDNN would fall back to a reference loop), and
    /// for int8 when the weight holds NaN or ±inf (no scale can represent it).
    public init(weight: UnsafePointer<Float>, bias: UnsafePointer<Float>?, inFeatures: Int, outFeatures: Int,
                precision: InferencePrecision, activation: Activation? = nil, bf16Output: Bool = false) throws {
        guard engine != nil else { throw PackedLinearError("oneDNN found no CPU engine") }
        self.inFeatures = inFeatures
        self.outFeatures = outFeatures
        self.precision = precision
        self.activation = activation
        self.bf16Output = bf16Output
        let quantized = precision == .int8 ? try Self.quantizeWeight(weight, rows: outFeatures, columns: inFeatures) : nil
        weightScales = quantized?.scales ?? []
        let kind = Self.primitiveKind(for: precision)
        primitiveKind = kind
        let (weightDims, plainTag) = kind.weightShape(inFeatures: inFeatures, outFeatures: outFeatures)
        // The layout oneDNN wants the weights in, from a primitive for a typical row count
        // (first: what can fail before anything is allocated).
        var any = try kind.anyLayoutWeights(inFeatures: inFeatures, outFeatures: outFeatures, precision.dataType)
        let probe = try Self.primitiveDesc(kind, rows: 384, weights: &any, inFeatures: inFeatures, outFeatures: outFeatures,
                                           precision: precision, hasBias: bias != nil, activation: activation,
                                           bf16Output: bf16Output, outputScales: weightScales)
        defer { dnnl_primitive_desc_destroy(probe) }
        rowsPerPiece = precision == .int8 && Self.implementation(probe).hasPrefix("gemm") ? Self.int8GemmPieceRows : Self.pieceRows
        packedDesc = dnnl_primitive_desc_query_md(probe, dnnl_query_weights_md, 0).pointee
        var biasDesc = dnnl_primitive_desc_query_md(probe, dnnl_query_weights_md, 1).pointee
        packed = UnsafeMutableRawPointer.allocate(byteCount: max(dnnl_memory_desc_get_size(&packedDesc), 64), alignment: 64)
        if let bias {
            let copy = UnsafeMutablePointer<Float>.allocate(capacity: outFeatures)
            copy.update(from: bias, count: outFeatures)
            self.bias = copy
        } else {
            self.bias = nil
        }
        // Fully initialized from here: a failing reorder still frees both buffers (deinit runs).
        // Reorder from (N, K) row-major (the matmul's (K, N) matrix in "ba" order, the
        // convolution's (N, K, 1) in "oiw"); fp32, or int8 quantized.
        var source = dnnl_memory_desc_t()
        try check(dnnl_memory_desc_init_by_tag(&source, Int32(weightDims.count), weightDims,
                                               quantized == nil ? dnnl_f32 : dnnl_s8, plainTag),
                  "weights descriptor")
        if let quantized {
            var values = quantized.values
            try values.withUnsafeMutableBytes { bytes in
                guard let base = bytes.baseAddress else { throw PackedLinearError("an int8 layer needs a non-empty weight") }
                try reorder(from: &source, base, to: &packedDesc, packed)
            }
        } else {
            try reorder(from: &source, UnsafeMutableRawPointer(mutating: weight), to: &packedDesc, packed)
        }
        try check(dnnl_memory_create(&weightsMemory, &packedDesc, engine, packed), "packed weights")
        if let copy = self.bias {
            try check(dnnl_memory_create(&biasMemory, &biasDesc, engine, copy), "bias")
        }
    }

    deinit {
        for (_, p) in primitives.withLock({ $0 }) { dnnl_primitive_destroy(p.pointer) }
        if let weightsMemory { dnnl_memory_destroy(weightsMemory) }
        if let biasMemory { dnnl_memory_destroy(biasMemory) }
        packed.deallocate()
        bias?.deallocate()
    }

    /// out (rows, outFeatures) from inp (rows, inFeatures) in `precision` (Float or UInt16
    /// bf16 bits). Call outside `Parallel`'s regions: oneDNN splits each product over the cores
    /// itself.
    ///
    /// Rows go through in pieces of a few fixed sizes — 512 (int8 on oneDNN's gemm driver:
    /// `int8GemmPieceRows`), multiples of 32, or all of them
    /// when fewer than 32 — so that dynamic padding's many row counts reuse a few dozen
    /// compiled kernels instead of compiling a set per count (milliseconds each). A remainder
    /// that is no multiple of 32 is done as the last 32 rows, overlapping rows already done
    /// (written again by another kernel: equal up to fp32 accumulation order).
    /// `scratchpad`: one per concurrent caller (a forward pass's workspace holds one).
    public func forward(out: UnsafeMutableRawPointer, inp: UnsafeRawPointer, rows: Int,
                        scratchpad: PackedScratchpad) throws {
        func run(_ first: Int, _ count: Int) throws {
            try self.run(out: out, inp: inp, first: first, rows: count, scratchpad: scratchpad)
        }
        if rowsPerPiece == Self.int8GemmPieceRows, rows >= 64, rows < Self.int8SplitBelow, Parallel.workers > 1 {
            return try forwardSplit(out: out, inp: inp, rows: rows, scratchpad: scratchpad)
        }
        let full = rows / rowsPerPiece * rowsPerPiece
        var start = 0
        while start < full {
            try run(start, rowsPerPiece)
            start += rowsPerPiece
        }
        let rest = rows - full
        guard rest > 0 else { return }
        if rest % 32 == 0 || rows < 32 { return try run(full, rest) }
        if rest >= 32 { try run(full, rest / 32 * 32) }
        try run(rows - 32, 32)
    }

    /// The same from an fp32 input: a bf16 layer rounds it into `staging` first; an int8 layer
    /// quantizes it there per row, and scales its fp32 output's rows back after the product; an
    /// fp32 layer reads it as it is (`staging` unused, may be nil). `staging` holds at least
    /// `stagingBytes(precision:rows:inFeatures:)`.
    public func forward(out: UnsafeMutableRawPointer, fp32Input: UnsafePointer<Float>, rows: Int,
                        staging: UnsafeMutableRawPointer?, scratchpad: PackedScratchpad) throws {
        if precision == .fp32 { return try forward(out: out, inp: fp32Input, rows: rows, scratchpad: scratchpad) }
        guard let staging else { throw PackedLinearError("a \(precision.rawValue) layer needs a staging buffer for its input") }
        switch precision {
        case .bf16:
            convertToBF16(out: staging.assumingMemoryBound(to: UInt16.self), inp: fp32Input, count: rows * inFeatures)
            try forward(out: out, inp: staging, rows: rows, scratchpad: scratchpad)
        case .int8:
            let scales = staging.assumingMemoryBound(to: Float.self)
            let values = (staging + Self.int8InputOffset(rows: rows)).assumingMemoryBound(to: Int8.self)
            quantizeRowsInt8(out: values, scales: scales, inp: fp32Input, rows: rows, columns: inFeatures)
            try forward(out: out, inp: values, rows: rows, scratchpad: scratchpad)
            scaleRows(out.assumingMemoryBound(to: Float.self), scales: scales, rows: rows, columns: outFeatures)
        case .fp32:
            break
        }
    }

    /// `weight` (rows, columns) in int8, symmetric per row (an output channel): scale = max |w| /
    /// `int8WeightLevels`, values rounded to nearest even. A row of zeros gets scale 0.
    static func quantizeWeight(_ weight: UnsafePointer<Float>, rows: Int, columns: Int) throws
        -> (values: [Int8], scales: [Float]) {
        let levels = int8WeightLevels
        var values = [Int8](repeating: 0, count: rows * columns), scales = [Float](repeating: 0, count: rows)
        for r in 0..<rows {
            let row = UnsafeBufferPointer(start: weight + r * columns, count: columns)
            var largest: Float = 0
            for w in row {
                guard w.isFinite else { throw PackedLinearError("the weight holds NaN or ±inf: it cannot be quantized to int8") }
                largest = max(largest, abs(w))
            }
            guard largest > 0 else { continue }
            let inverse = levels / largest
            for (c, w) in row.enumerated() {
                values[r * columns + c] = Int8(min(max(w * inverse, -levels), levels).rounded(.toNearestOrEven))
            }
            scales[r] = largest / levels
        }
        return (values, scales)
    }

    /// Rows per piece of a long product: one window of 384 tokens goes through in one piece
    /// (a 256 + 128 split made two calls of it). MiniLM 16 × 384 ran within noise with pieces
    /// of 256, 768, 1536 or all 6144 rows (docs/benchmarks-history.md, "bf16 inference").
    public static let pieceRows = 512

    /// int8 on oneDNN's gemm driver (no VNNI: "gemm:jit") splits a product over the threads only
    /// when it is large: at 384 × 384 → 1536 it ran on one thread (26–31 GFLOP/s against 78–83
    /// from 416 rows on, and 512 × 1536 → 384 likewise; AMD EPYC Zen 1, 2 cores,
    /// 2026-12-06), so pieces of 512 rows were slow. There a product goes through in pieces of
    /// up to this many rows (16 windows of 384 in one).
    public static let int8GemmPieceRows = 8192

    /// Below this many rows an int8 product on the gemm driver is split by rows over the
    /// workers, each running its part single-threaded (oneDNN inside a parallel region runs on
    /// the calling thread). Why: at one window (384 rows) the driver ran most of MiniLM's and
    /// BERT-base's products on one thread (29.6–31.9 GFLOP/s on 2 cores; scripts/probes/int8_gemm.c,
    /// AMD EPYC Zen 1, 2026-12-06). Split, MiniLM-L6 1 × 384 went from 302 to 156–163 ms, and in
    /// BERT-base's profile 768 → 768 and 3072 → 768 ran at 73 GFLOP/s. Its q|k|v and FFN up
    /// stayed at 31 either way: one thread's half of 768-wide rows runs at 16–17 GFLOP/s, and
    /// left to the driver (which threaded them in the probe, 57) they ran at 31–32 in the model
    /// too, with the other products slower beside them. Not solved: see BENCHMARKS.md.
    static let int8SplitBelow = 1024

    /// One product split by rows over the workers, each with its own scratchpad (stream, memory
    /// objects, scratch), each part one call. Row ranges are disjoint: no output row is written
    /// twice.
    private func forwardSplit(out: UnsafeMutableRawPointer, inp: UnsafeRawPointer, rows: Int,
                              scratchpad: PackedScratchpad) throws {
        let pads = scratchpad.workerScratchpads(Parallel.workers)
        let failures = Mutex<[Error]>([])
        Parallel.forEachChunk(rows, chunks: Parallel.workers) { worker, range in
            do {
                try self.run(out: out, inp: inp, first: range.lowerBound, rows: range.count, scratchpad: pads[worker])
            } catch {
                failures.withLock { $0.append(error) }
            }
        }
        if let first = failures.withLock({ $0.first }) { throw first }
    }

    private func run(out: UnsafeMutableRawPointer, inp: UnsafeRawPointer, first: Int, rows: Int,
                     scratchpad: PackedScratchpad) throws {
        let compiled = try self.primitive(rows: rows)
        let source = UnsafeMutableRawPointer(mutating: inp + first * inFeatures * precision.inputBytes)
        let destination = out + first * outFeatures * (bf16Output ? 2 : 4)
        // The input, output and scratchpad memory objects and the stream come from the caller's
        // scratchpad, made on first use and re-pointed after; the weights' and bias's are the
        // layer's own: nothing of ours is allocated per call.
        scratchpad.makeRoom(for: 3)  // before any binding: an eviction frees the objects it holds
        try withUnsafeTemporaryAllocation(of: dnnl_exec_arg_t.self, capacity: 5) { args in
            var count = 0
            func put(_ arg: Int32, _ m: dnnl_memory_t?) {
                args[count] = dnnl_exec_arg_t(arg: arg, memory: m)
                count += 1
            }
            func bind(_ arg: Int32, _ desc: dnnl_memory_desc_t, _ pointer: UnsafeMutableRawPointer) throws {
                put(arg, try scratchpad.memory(PackedScratchpad.Key(layer: serial, rows: rows, arg: arg), desc, pointer))
            }
            try bind(Int32(DNNL_ARG_SRC), compiled.source, source)
            put(Int32(DNNL_ARG_WEIGHTS), weightsMemory)
            try bind(Int32(DNNL_ARG_DST), compiled.destination, destination)
            if bias != nil { put(Int32(DNNL_ARG_BIAS), biasMemory) }
            if compiled.scratchpadBytes > 0 {
                try bind(Int32(DNNL_ARG_SCRATCHPAD), compiled.scratchpad, scratchpad.reserve(compiled.scratchpadBytes))
            }
            let stream = try scratchpad.stream()
            try check(dnnl_primitive_execute(compiled.pointer, stream, Int32(count), args.baseAddress), "product")
            try check(dnnl_stream_wait(stream), "product")
        }
    }

    /// The compiled product for `rows` rows (made on first use, then cached).
    private func primitive(rows: Int) throws -> Compiled {
        if let p = primitives.withLock({ $0[rows] }) { return p }
        var weights = packedDesc
        let pd = try Self.primitiveDesc(primitiveKind, rows: rows, weights: &weights, inFeatures: inFeatures, outFeatures: outFeatures,
                                        precision: precision, hasBias: bias != nil, activation: activation,
                                        bf16Output: bf16Output, outputScales: weightScales)
        defer { dnnl_primitive_desc_destroy(pd) }
        var p: dnnl_primitive_t?
        try check(dnnl_primitive_create(&p, pd), "\(precision.rawValue) product for \(rows) rows")
        guard let p else { throw PackedLinearError("oneDNN returned no primitive") }
        // The memory layouts each call binds, as the primitive was made for them.
        func described(_ query: dnnl_query_t, _ index: Int32 = 0) -> dnnl_memory_desc_t {
            dnnl_primitive_desc_query_md(pd, query, index).pointee  // a zero descriptor when there is none
        }
        var scratchDesc = described(dnnl_query_scratchpad_md)
        let made = Compiled(pointer: p, source: described(dnnl_query_src_md), destination: described(dnnl_query_dst_md),
                            scratchpad: scratchDesc,
                            scratchpadBytes: dnnl_memory_desc_get_size(&scratchDesc))
        return primitives.withLock { cache in
            if let existing = cache[rows] { dnnl_primitive_destroy(made.pointer); return existing }
            cache[rows] = made
            return made
        }
    }

    private static func primitiveDesc(
        _ kind: PackedPrimitive, rows: Int, weights: inout dnnl_memory_desc_t, inFeatures: Int, outFeatures: Int,
        precision: InferencePrecision, hasBias: Bool, activation: Activation?, bf16Output: Bool, outputScales: [Float]
    ) throws -> dnnl_primitive_desc_t {
        var attr: dnnl_primitive_attr_t?
        try check(dnnl_primitive_attr_create(&attr), "attributes")
        defer { dnnl_primitive_attr_destroy(attr) }
        try check(dnnl_primitive_attr_set_scratchpad_mode(attr, dnnl_scratchpad_mode_user), "scratchpad mode")
        if !outputScales.isEmpty {
            // int8: the weights' per-output-channel scales (mask: dimension 1, N), fixed per layer.
            try check(dnnl_primitive_attr_set_output_scales(attr, Int64(outputScales.count), 1 << 1, outputScales),
                      "output scales")
        }
        if let activation {
            var ops: dnnl_post_ops_t?
            try check(dnnl_post_ops_create(&ops), "post-ops")
            defer { dnnl_post_ops_destroy(ops) }
            let kind: dnnl_alg_kind_t
            switch activation {
            case .gelu: kind = dnnl_eltwise_gelu_erf
            case .geluNew: kind = dnnl_eltwise_gelu_tanh
            case .relu: kind = dnnl_eltwise_relu
            }
            try check(dnnl_post_ops_append_eltwise(ops, 1, kind, 0, 0), "activation")
            try check(dnnl_primitive_attr_set_post_ops(attr, ops), "activation")
        }
        // The product's memory layouts, its descriptor, and the primitive descriptor from both.
        var src = dnnl_memory_desc_t(), dst = dnnl_memory_desc_t(), biasDesc = dnnl_memory_desc_t()
        let output = bf16Output ? dnnl_bf16 : dnnl_f32
        var pd: dnnl_primitive_desc_t?
        let created: dnnl_status_t
        switch kind {
        case .matmul:
            try check(dnnl_memory_desc_init_by_tag(&src, 2, [Int64(rows), Int64(inFeatures)], precision.dataType, dnnl_ab), "input")
            try check(dnnl_memory_desc_init_by_tag(&dst, 2, [Int64(rows), Int64(outFeatures)], output, dnnl_ab), "output")
            try check(dnnl_memory_desc_init_by_tag(&biasDesc, 2, [1, Int64(outFeatures)], dnnl_f32, dnnl_ab), "bias")
            var desc = dnnl_matmul_desc_t()
            try withUnsafePointer(to: &biasDesc) { b in
                try check(dnnl_matmul_desc_init(&desc, &src, &weights, hasBias ? b : nil, &dst), "matmul descriptor")
            }
            created = dnnl_primitive_desc_create(&pd, &desc, attr, engine, nil)
        case .convolution:
            // One image (N = 1) of `rows` pixels: "nwc" is (rows, features) row-major.
            try check(dnnl_memory_desc_init_by_tag(&src, 3, [1, Int64(inFeatures), Int64(rows)], precision.dataType, dnnl_nwc), "input")
            try check(dnnl_memory_desc_init_by_tag(&dst, 3, [1, Int64(outFeatures), Int64(rows)], output, dnnl_nwc), "output")
            try check(dnnl_memory_desc_init_by_tag(&biasDesc, 1, [Int64(outFeatures)], dnnl_f32, dnnl_a), "bias")
            var desc = dnnl_convolution_desc_t()
            let one: [Int64] = [1], zero: [Int64] = [0]  // stride 1, no padding
            try withUnsafePointer(to: &biasDesc) { b in
                try check(dnnl_convolution_forward_desc_init(&desc, dnnl_forward_inference, dnnl_convolution_direct,
                                                             &src, &weights, hasBias ? b : nil, &dst, one, zero, zero),
                          "convolution descriptor")
            }
            created = dnnl_primitive_desc_create(&pd, &desc, attr, engine, nil)
        }
        try check(created,
                  "\(precision.rawValue) product \(rows)×\(inFeatures) → \(outFeatures)"
                      + (precision == .bf16 ? " (does this CPU have bf16 support?)" : ""))
        guard let pd else { throw PackedLinearError("oneDNN returned no primitive descriptor") }
        // A reference implementation would run orders of magnitude slower than sgemm: refuse it.
        let name = implementation(pd)
        // ("gemm:ref" is oneDNN's reference sgemm, all it has for fp32 off x86-64.)
        let fast = precision == .bf16 ? name.contains("amx") || name.contains("bf16")
                                      : !name.hasPrefix("ref") && !name.hasSuffix(":ref")
        guard fast else {
            dnnl_primitive_desc_destroy(pd)
            throw PackedLinearError(precision == .bf16
                ? "this CPU has no fast bf16 matrix kernels (oneDNN offers only \"\(name)\"); use fp32"
                : "oneDNN offers only a reference \(precision.rawValue) matmul (\"\(name)\") on this CPU")
        }
        return pd
    }
}

extension PackedLinear {
    /// The name of the implementation oneDNN picked ("gemm:jit", "brg:avx512_core_amx", ...).
    static func implementation(_ pd: dnnl_primitive_desc_t) -> String {
        var impl: UnsafePointer<CChar>?
        dnnl_primitive_desc_query(pd, dnnl_query_impl_info_str, 0, &impl)
        return impl.map { String(cString: $0) } ?? "?"
    }
}

/// A compiled oneDNN primitive, the memory layouts it was made for and the scratch bytes it
/// needs; executing one from several threads at once is allowed, each with its own scratchpad.
private struct Compiled: @unchecked Sendable {
    let pointer: OpaquePointer
    let source: dnnl_memory_desc_t
    let destination: dnnl_memory_desc_t
    let scratchpad: dnnl_memory_desc_t
    let scratchpadBytes: Int
}

/// What one caller of packed products owns, so that concurrent forward passes never share it:
/// oneDNN's scratchpad (copies of the input in the kernels' layout; oneDNN's own may be one
/// global buffer, depending on how the library was built), grown to the largest need on first
/// use; a stream; and the memory objects bound to each product's input, output and scratchpad,
/// made once per (layer, row count, argument) and re-pointed at each call's buffers — at most
/// `memoryLimit` of them, all dropped when a product needs room past that. One per workspace;
/// not for two threads at once.
public final class PackedScratchpad {
    private var storage: UnsafeMutableRawPointer?
    private var capacity = 0
    /// BERT-base: 48 packed layers × ≤ 47 piece sizes × 3 objects fit.
    let memoryLimit: Int
    private var streamHandle: dnnl_stream_t?
    private var memories: [Key: (memory: dnnl_memory_t, pointer: UnsafeMutableRawPointer)] = [:]

    struct Key: Hashable {
        let layer: Int
        let rows: Int
        let arg: Int32
    }

    /// One scratchpad per worker, for products split over the threads (made on first use).
    private var perWorker: [PackedScratchpad] = []

    public init(memoryLimit: Int = 8192) {
        self.memoryLimit = max(memoryLimit, 3)
    }

    /// `count` scratchpads of this one's own, each for one worker of a split product.
    func workerScratchpads(_ count: Int) -> [PackedScratchpad] {
        while perWorker.count < count { perWorker.append(PackedScratchpad(memoryLimit: memoryLimit)) }
        return perWorker
    }

    /// Drops every cached memory object when `count` more would pass the limit. Call before
    /// binding a product's arguments, never between (the dropped objects are freed).
    func makeRoom(for count: Int) {
        if memories.count + count > memoryLimit { clearMemories() }
    }

    func reserve(_ bytes: Int) -> UnsafeMutableRawPointer {
        if let storage, capacity >= bytes { return storage }
        storage?.deallocate()
        capacity = max(bytes, 64)
        let fresh = UnsafeMutableRawPointer.allocate(byteCount: capacity, alignment: 64)
        storage = fresh
        return fresh
    }

    func stream() throws -> dnnl_stream_t {
        if let streamHandle { return streamHandle }
        var made: dnnl_stream_t?
        try check(dnnl_stream_create(&made, engine, UInt32(dnnl_stream_default_flags.rawValue)), "stream")
        guard let made else { throw PackedLinearError("oneDNN returned no stream") }
        streamHandle = made
        return made
    }

    /// The memory object for `key` (described by `desc`, fixed per key), pointing at `pointer`;
    /// re-pointed only when the pointer changed (a workspace's buffers mostly do not).
    func memory(_ key: Key, _ desc: dnnl_memory_desc_t, _ pointer: UnsafeMutableRawPointer) throws -> dnnl_memory_t {
        if let (m, old) = memories[key] {
            if old != pointer {
                try check(dnnl_memory_set_data_handle(m, pointer), "memory")
                memories[key] = (m, pointer)
            }
            return m
        }
        var m: dnnl_memory_t?, d = desc
        try check(dnnl_memory_create(&m, &d, engine, pointer), "memory")
        guard let m else { throw PackedLinearError("oneDNN returned no memory object") }
        memories[key] = (m, pointer)
        return m
    }

    private func clearMemories() {
        for m in memories.values { dnnl_memory_destroy(m.memory) }
        memories.removeAll()
    }

    deinit {
        clearMemories()
        if let streamHandle { dnnl_stream_destroy(streamHandle) }
        storage?.deallocate()
    }
}

/// Converts `from` (described by `fromDesc`) into `to` (`toDesc`) with a oneDNN reorder.
private func reorder(from fromDesc: inout dnnl_memory_desc_t, _ from: UnsafeMutableRawPointer,
                     to toDesc: inout dnnl_memory_desc_t, _ to: UnsafeMutableRawPointer) throws {
    var pd: dnnl_primitive_desc_t?
    try check(dnnl_reorder_primitive_desc_create(&pd, &fromDesc, engine, &toDesc, engine, nil), "weights reorder")
    defer { dnnl_primitive_desc_destroy(pd) }
    var p: dnnl_primitive_t?
    try check(dnnl_primitive_create(&p, pd), "weights reorder")
    defer { dnnl_primitive_destroy(p) }
    var a: dnnl_memory_t?, b: dnnl_memory_t?
    try check(dnnl_memory_create(&a, &fromDesc, engine, from), "weights")
    defer { dnnl_memory_destroy(a) }
    try check(dnnl_memory_create(&b, &toDesc, engine, to), "packed weights")
    defer { dnnl_memory_destroy(b) }
    var stream: dnnl_stream_t?
    try check(dnnl_stream_create(&stream, engine, UInt32(dnnl_stream_default_flags.rawValue)), "stream")
    defer { dnnl_stream_destroy(stream) }
    var args = [dnnl_exec_arg_t(arg: Int32(DNNL_ARG_FROM), memory: a), dnnl_exec_arg_t(arg: Int32(DNNL_ARG_TO), memory: b)]
    try check(dnnl_primitive_execute(p, stream, 2, &args), "weights reorder")
    try check(dnnl_stream_wait(stream), "weights reorder")
}

@inline(__always)
private func check(_ status: dnnl_status_t, _ what: @autoclosure () -> String) throws {
    guard status == dnnl_success else { throw PackedLinearError("oneDNN failed (status \(status.rawValue)) at: \(what())") }
}
