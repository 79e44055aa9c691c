import KernelCore

// Backward of `layerNormForward` / `residualLayerNormForward`. With n = (x - mean)·rstd and
// g = dout·weight per row:
//   dx = rstd · (g - mean(g) - n · mean(g·n)),   dweight += Σ dout·n,   dbias += Σ dout.
// The parameter gradients are sums over rows: each worker sums its rows into its own slot of
// `scratch`, and the slots are added in worker order, so the result is deterministic.

extension SIMDKernels {
    /// dinp is (N,C), written (not accumulated); dweight, dbias (C) are accumulated (+=).
    /// dout, inp are (N,C) (inp = the forward's input: for the residual variant, x after its
    /// `x += residual`); mean, rstd (N); weight (C).
    /// The residual variant's forward had two inputs (the sublayer's output and the residual);
    /// both receive the same gradient, `dinp`. When `branch` is given, it also gets
    /// `branchDropout`'s backward of dinp: the gradient of the sublayer output before its dropout.
    public static func layerNormBackward(
        dinp: UnsafeMutablePointer<Float>, dweight: UnsafeMutablePointer<Float>, dbias: UnsafeMutablePointer<Float>,
        dout: UnsafePointer<Float>, inp: UnsafePointer<Float>, weight: UnsafePointer<Float>,
        mean: UnsafePointer<Float>, rstd: UnsafePointer<Float>, rows: Int, channels: Int,
        scratch: UnsafeMutablePointer<Float>,
        branch: UnsafeMutablePointer<Float>? = nil, branchDropout: DropoutMask? = nil
    ) {
        let C = channels
        let di = SendablePointer(dinp), d = SendablePointer(UnsafeMutablePointer(mutating: dout))
        let x = SendablePointer(UnsafeMutablePointer(mutating: inp))
        let w = SendablePointer(UnsafeMutablePointer(mutating: weight))
        let mu = SendablePointer(UnsafeMutablePointer(mutating: mean))
        let rs = SendablePointer(UnsafeMutablePointer(mutating: rstd))
        let sc = SendablePointer(scratch)
        let br = branch.map { SendablePointer($0) }
        let activeDropout = branchDropout.flatMap { $0.isActive ? $0 : nil }
        let chunks = rows * C * 8 < 32_768 ? 1 : Parallel.workers
        let used = min(chunks, max(rows, 1))
        Parallel.forEachChunk(rows, chunks: chunks) { worker, range in
            let dw = sc.pointer + worker * 2 * C, db = dw + C
            dw.update(repeating: 0, count: 2 * C)
            for row in range {
                layerNormBackwardRow(
                    dinp: di.pointer + row * C, dweight: dw, dbias: db, dout: d.pointer + row * C,
                    inp: x.pointer + row * C, weight: w.pointer, mean: mu.pointer[row], rstd: rs.pointer[row], channels: C)
                if let br {
                    if let mask = activeDropout {
                        dropoutApply(out: br.pointer + row * C, inp: di.pointer + row * C, count: C, first: row * C, mask: mask)
                    } else {
                        (br.pointer + row * C).update(from: di.pointer + row * C, count: C)
                    }
                }
            }
        }
        for worker in 0..<used {
            let dw = scratch + worker * 2 * C, db = dw + C
            addInPlace(dweight, dw, count: C)
            addInPlace(dbias, db, count: C)
        }
    }

    @inline(__always)
    private static func layerNormBackwardRow(
        dinp: UnsafeMutablePointer<Float>, dweight: UnsafeMutablePointer<Float>, dbias: UnsafeMutablePointer<Float>,
        dout: UnsafePointer<Float>, inp: UnsafePointer<Float>, weight: UnsafePointer<Float>,
        mean: Float, rstd: Float, channels C: Int
    ) {
        let mv = Vec16(repeating: mean), rv = Vec16(repeating: rstd)
        // Pass 1: mean(g), mean(g·n), and the parameter gradients.
        var sumG = Vec16(repeating: 0), sumGN = Vec16(repeating: 0)
        var tailG: Float = 0, tailGN: Float = 0
        var c = 0
        while c + 16 <= C {
            let n = (load16(inp + c) - mv) * rv
            let dy = load16(dout + c)
            let g = dy * load16(weight + c)
            sumG += g
            sumGN += g * n
            store16(load16(dbias + c) + dy, dbias + c)
            store16(load16(dweight + c) + dy * n, dweight + c)
            c += 16
        }
        while c < C {
            let n = (inp[c] - mean) * rstd, dy = dout[c], g = dy * weight[c]
            tailG += g
            tailGN += g * n
            dbias[c] += dy
            dweight[c] += dy * n
            c += 1
        }
        let meanG = (laneSum(sumG) + tailG) / Float(C), meanGN = (laneSum(sumGN) + tailGN) / Float(C)
        let mg = Vec16(repeating: meanG), mgn = Vec16(repeating: meanGN)
        // Pass 2: dx.
        c = 0
        while c + 16 <= C {
            let n = (load16(inp + c) - mv) * rv
            let g = load16(dout + c) * load16(weight + c)
            store16((g - mg - n * mgn) * rv, dinp + c)
            c += 16
        }
        while c < C {
            let n = (inp[c] - mean) * rstd, g = dout[c] * weight[c]
            dinp[c] = (g - meanG - n * meanGN) * rstd
            c += 1
        }
    }
}
