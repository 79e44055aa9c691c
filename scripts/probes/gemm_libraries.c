// OpenBLAS vs oneDNN sgemm at the models' layer shapes, interleaved in one process on 2 threads
// (the numbers behind bertqa's switch to oneDNN; docs/benchmarks-history.md, the oneDNN switch). Dev tool, not built
// by SwiftPM:
//
//   apt-get install -y libopenblas-dev libdnnl-dev
//   gcc -O2 -fopenmp scripts/probes/gemm_libraries.c -o /tmp/gemm_libraries -lopenblas -ldnnl
//   OPENBLAS_CORETYPE=Cooperlake OPENBLAS_NUM_THREADS=1 /tmp/gemm_libraries
//
// out (M,N) = inp (M,K) · weightᵀ, weight (N,K) as a Linear layer stores it. Per shape, 40
// repetitions of each variant back to back (so each sees the same machine state), best of each:
//   openblas-split  each thread one single-threaded OpenBLAS call on half the rows (half the
//                   columns when M ≤ 1024): what bertqa did before
//   dnnl-native     one dnnl_sgemm call, oneDNN splits it over its OpenMP threads
//   dnnl-rowsplit   each thread one dnnl_sgemm on half the rows (inside a parallel region oneDNN
//                   runs single-threaded): what bertqa does now for many rows
//   dnnl-colsplit   each thread one dnnl_sgemm on half the columns: bertqa's split for few rows
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <omp.h>
#include <cblas.h>
#include <oneapi/dnnl/dnnl.h>

static double now(void) { struct timespec t; clock_gettime(CLOCK_MONOTONIC, &t); return t.tv_sec + t.tv_nsec * 1e-9; }

int main(void) {
    // rows × in → out: MiniLM-L6 (16 windows, 1 window), BERT-base (4 windows, 1 window).
    static const int shapes[][3] = {
        {6144, 384, 1152}, {6144, 384, 384}, {6144, 384, 1536}, {6144, 1536, 384},
        {384, 384, 1152}, {384, 384, 384}, {384, 384, 1536}, {384, 1536, 384},
        {1536, 768, 2304}, {1536, 3072, 768}, {384, 768, 2304}, {384, 768, 3072}, {384, 3072, 768},
    };
    float *A = malloc(sizeof(float) * 6144 * 3072), *B = malloc(sizeof(float) * 3072 * 3072);
    float *C = malloc(sizeof(float) * 6144 * 3072);
    if (!A || !B || !C) return 1;
    for (long i = 0; i < 6144L * 3072; i++) { A[i] = (i % 7) * 0.01f; C[i] = 0; }
    for (long i = 0; i < 3072L * 3072; i++) B[i] = (i % 5) * 0.01f;
    for (unsigned s = 0; s < sizeof shapes / sizeof shapes[0]; s++) {
        const int M = shapes[s][0], K = shapes[s][1], N = shapes[s][2];
        double best[4] = {1e9, 1e9, 1e9, 1e9};
        for (int r = 0; r < 40; r++) {
            double t[5];
            t[0] = now();
            #pragma omp parallel num_threads(2)
            {
                int h = omp_get_thread_num();
                if (M > 1024) {
                    int m0 = h ? M / 2 : 0, m1 = h ? M : M / 2;
                    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, m1 - m0, N, K, 1, A + (long)m0 * K, K,
                                B, K, 0, C + (long)m0 * N, N);
                } else {
                    int n0 = h ? N / 2 : 0, n1 = h ? N : N / 2;
                    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, M, n1 - n0, K, 1, A, K,
                                B + (long)n0 * K, K, 0, C + n0, N);
                }
            }
            t[1] = now();
            dnnl_sgemm('N', 'T', M, N, K, 1, A, K, B, K, 0, C, N);
            t[2] = now();
            #pragma omp parallel num_threads(2)
            {
                int h = omp_get_thread_num(), m0 = h ? M / 2 : 0, m1 = h ? M : M / 2;
                dnnl_sgemm('N', 'T', m1 - m0, N, K, 1, A + (long)m0 * K, K, B, K, 0, C + (long)m0 * N, N);
            }
            t[3] = now();
            #pragma omp parallel num_threads(2)
            {
                int h = omp_get_thread_num(), n0 = h ? N / 2 : 0, n1 = h ? N : N / 2;
                dnnl_sgemm('N', 'T', M, n1 - n0, K, 1, A, K, B + (long)n0 * K, K, 0, C + n0, N);
            }
            t[4] = now();
            for (int v = 0; v < 4; v++) if (t[v + 1] - t[v] < best[v]) best[v] = t[v + 1] - t[v];
        }
        const double gflop = 2.0 * M * N * K / 1e9;
        printf("%5d x %5d -> %5d  openblas-split %6.1f  dnnl-native %6.1f  dnnl-rowsplit %6.1f  dnnl-colsplit %6.1f GFLOP/s\n",
               M, K, N, gflop / best[0], gflop / best[1], gflop / best[2], gflop / best[3]);
    }
    return 0;
}
