// How a linear layer's product is best cut into tiles for the 2 cores, each tile one
// single-threaded dnnl_sgemm claimed dynamically (as `LinearTiles` + `Parallel.forEachTile` do):
// row pieces × column pieces, at BERT-base's and MiniLM's shapes for 1, 4 and 16 windows of 384.
// The numbers behind `LinearTiles.columnTilesUpToRows`. Dev tool, not built by SwiftPM:
//
//   gcc -O2 -fopenmp scripts/probes/linear_tiles.c -o /tmp/linear_tiles -ldnnl && OMP_NUM_THREADS=2 /tmp/linear_tiles
//
// out (M,N) = inp (M,K) · weightᵀ, weight (N,K); best of a few calls per cut, GFLOP/s.
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <omp.h>
#include <oneapi/dnnl/dnnl.h>
static double now(void) { struct timespec t; clock_gettime(CLOCK_MONOTONIC, &t); return t.tv_sec + t.tv_nsec * 1e-9; }
int main(void) {
    static const int shapes[][3] = { {1536, 768, 2304}, {1536, 768, 3072}, {1536, 3072, 768}, {1536, 768, 768},
        {6144, 384, 1152}, {6144, 384, 1536}, {6144, 768, 2304}, {384, 768, 2304}, {384, 384, 1536} };
    static const int cuts[][2] = { {4, 1}, {8, 1}, {4, 2}, {4, 4}, {2, 4}, {1, 4}, {8, 2} };  // row pieces, column pieces
    enum { V = 7 };
    float *A = malloc(4L * 6144 * 3072), *B = malloc(4L * 3072 * 3072), *C = malloc(4L * 6144 * 3072);
    for (long i = 0; i < 6144L * 3072; i++) { A[i] = (i % 7) * 0.01f; C[i] = 0; }
    for (long i = 0; i < 3072L * 3072; i++) B[i] = (i % 5) * 0.01f;
    for (unsigned s = 0; s < sizeof shapes / sizeof shapes[0]; s++) {
        const int M = shapes[s][0], K = shapes[s][1], N = shapes[s][2];
        double best[V]; for (int v = 0; v < V; v++) best[v] = 1e9;
        int reps = M * (long)N * K > 2000000000L ? 4 : 10;
        for (int rep = 0; rep < reps; rep++) for (int v = 0; v < V; v++) {
            int rp = cuts[v][0], cp = cuts[v][1];
            int tr = ((M + rp - 1) / rp + 15) / 16 * 16, tc = ((N + cp - 1) / cp + 15) / 16 * 16;
            int nrt = (M + tr - 1) / tr, nct = (N + tc - 1) / tc;
            double t = now();
            #pragma omp parallel for num_threads(2) schedule(dynamic,1)
            for (int tile = 0; tile < nrt * nct; tile++) {
                int r0 = tile / nct * tr, c0 = tile % nct * tc;
                int nr = M - r0 < tr ? M - r0 : tr, nc = N - c0 < tc ? N - c0 : tc;
                dnnl_sgemm('N', 'T', nr, nc, K, 1.f, A + (long)r0 * K, K, B + (long)c0 * K, K, 0.f, C + (long)r0 * N + c0, N);
            }
            t = now() - t; if (t < best[v]) best[v] = t;
        }
        printf("%5d x %4d -> %4d ", M, K, N);
        for (int v = 0; v < V; v++) printf(" %dx%d %5.1f", cuts[v][0], cuts[v][1], 2.0 * M * N * K / best[v] / 1e9);
        printf("\n"); fflush(stdout);
    }
}
