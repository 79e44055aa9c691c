/// How a product (rows × outFeatures, summing over inFeatures) is cut into tiles, from its
/// shape and `Parallel.workers` alone, never from timing: so the same inputs give the same
/// bits whichever worker runs which tile. By output columns (all rows; each worker packs only
/// its tiles' weights, which dominates a batch of one window) up to `columnTilesUpToRows` rows,
/// else by rows; `tilesPerWorker` tiles a worker, cut at multiples of 16; tiny products are one
/// tile.
public struct LinearTiles {
    /// Two tiles a worker: a worker that finishes early takes another's second tile, so a core
    /// slowed by its neighbours on a virtual machine costs less than with one fixed half each.
    public static let tilesPerWorker = 2

    /// Column tiles up to 2048 rows (4 windows of 384 + 1), row tiles above. Row tiles of 384
    /// rows against a wide weight ran oneDNN's AVX2 sgemm at 48–56 GFLOP/s where column tiles
    /// of the same product ran 71–72 (1536 × 768 → 2304 and → 3072, BERT-base's q|k|v and FFN
    /// up at a training batch of 4; AMD EPYC Zen 1, 2 threads, 2026-12-06, C probe
    /// `scripts/probes/linear_tiles.c`); at 6144 rows row tiles were the fastest (73–75).
    public static let columnTilesUpToRows = 2048

    public let rows: Int, outFeatures: Int
    /// Rows and columns of every tile but the last along its axis (the last takes the rest).
    public let tileRows: Int, tileColumns: Int

    public init(rows: Int, inFeatures: Int, outFeatures: Int, workers: Int = Parallel.workers) {
        self.rows = rows
        self.outFeatures = outFeatures
        let pieces = workers * Self.tilesPerWorker
        @inline(__always) func cut(_ n: Int) -> Int { max(16, ((n + pieces - 1) / pieces + 15) / 16 * 16) }
        if gemmChunks(rows: rows, inFeatures: inFeatures, outFeatures: outFeatures, workers: workers) == 1 {
            (tileRows, tileColumns) = (max(rows, 1), max(outFeatures, 1))
        } else if rows <= Self.columnTilesUpToRows && outFeatures % 16 == 0 && outFeatures >= 32 * workers {
            (tileRows, tileColumns) = (rows, cut(outFeatures))
        } else {
            (tileRows, tileColumns) = (cut(rows), max(outFeatures, 1))
        }
    }

    public var rowTiles: Int { (rows + tileRows - 1) / tileRows }
    public var columnTiles: Int { (outFeatures + tileColumns - 1) / tileColumns }
    public var count: Int { rowTiles * columnTiles }

    @inline(__always) public func rows(_ tile: Int) -> Range<Int> {
        let r = tile / columnTiles * tileRows
        return r ..< min(r + tileRows, rows)
    }

    @inline(__always) public func columns(_ tile: Int) -> Range<Int> {
        let c = tile % columnTiles * tileColumns
        return c ..< min(c + tileColumns, outFeatures)
    }
}

/// One chunk per worker when the product is big enough to share; tiny products run inline.
@inline(__always)
public func gemmChunks(rows: Int, inFeatures: Int, outFeatures: Int, workers: Int = Parallel.workers) -> Int {
    rows * inFeatures * outFeatures < 1 << 18 || rows < 2 * workers ? 1 : workers
}
