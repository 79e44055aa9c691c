// A linear layer as oneDNN's 1×1 convolution (weights reordered once into its blocked layout)
// against what bertqa's inference ran before on AVX2 CPUs (sgemm on the plain weights, the
// output's columns cut into 4 tiles over 2 threads, as `LinearTiles` does), at BERT-base's four
// products for one 384-token window, bias included. Each timed loop runs 12 layers' distinct
// weights, as a forward pass does (weights come from memory, not from the cache of the call
// before). The numbers behind `PackedLinear`'s fp32 convolution. Dev tool, not built by SwiftPM:
//
//   gcc -O2 -fopenmp scripts/probes/conv1x1.c -o /tmp/conv1x1 -ldnnl
//   ONEDNN_MAX_CPU_ISA=AVX2 OMP_NUM_THREADS=2 /tmp/conv1x1
//
// out (M,N) = inp (M,K) · weightᵀ + bias; the convolution sees inp as one image of M pixels with
// K channels ("nwc", the same bytes) and weight (N,K) as (N,K,1) "oiw".
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <omp.h>
#include <oneapi/dnnl/dnnl.h>
static double now(void) { struct timespec t; clock_gettime(CLOCK_MONOTONIC, &t); return t.tv_sec + t.tv_nsec * 1e-9; }
#define CK(x) do { dnnl_status_t s_ = (x); if (s_ != dnnl_success) { printf("failed: %s (%d)\n", #x, s_); exit(1); } } while (0)
static dnnl_engine_t eng; static dnnl_stream_t st;
static void *reorderOnce(dnnl_memory_desc_t *from, void *p, dnnl_memory_desc_t *to) {
    void *q = aligned_alloc(64, (dnnl_memory_desc_get_size(to) + 63) / 64 * 64);
    dnnl_memory_t a, b; CK(dnnl_memory_create(&a, from, eng, p)); CK(dnnl_memory_create(&b, to, eng, q));
    dnnl_primitive_desc_t rpd; CK(dnnl_reorder_primitive_desc_create(&rpd, from, eng, to, eng, NULL));
    dnnl_primitive_t rp; CK(dnnl_primitive_create(&rp, rpd));
    dnnl_exec_arg_t ra[2] = {{DNNL_ARG_FROM, a}, {DNNL_ARG_TO, b}};
    CK(dnnl_primitive_execute(rp, st, 2, ra)); CK(dnnl_stream_wait(st)); return q;
}
static int cmp(const void *a, const void *b) { double x = *(double*)a, y = *(double*)b; return x < y ? -1 : x > y; }
enum { L = 12, R = 15 };
int main(void) {
    static const int shapes[][3] = { {384, 768, 2304}, {384, 768, 768}, {384, 768, 3072}, {384, 3072, 768} };
    CK(dnnl_engine_create(&eng, dnnl_cpu, 0)); CK(dnnl_stream_create(&st, eng, dnnl_stream_default_flags));
    float *A = malloc(4L * 384 * 3072), *C = malloc(4L * 384 * 3072), *bias = malloc(4 * 3072);
    for (long i = 0; i < 384L * 3072; i++) { A[i] = (i % 7) * 0.01f; C[i] = 0; }
    for (int i = 0; i < 3072; i++) bias[i] = 0.1f;
    double total[2][R] = {{0}};
    for (unsigned s = 0; s < 4; s++) {
        const int M = shapes[s][0], K = shapes[s][1], N = shapes[s][2];
        float *B[L]; void *P[L];
        dnnl_memory_desc_t cs, cw, cwplain, cb, cd; dnnl_dims_t sd = {1, K, M}, wd = {N, K, 1}, dd = {1, N, M}, bd = {N};
        dnnl_dims_t strides = {1}, pad = {0};
        CK(dnnl_memory_desc_init_by_tag(&cs, 3, sd, dnnl_f32, dnnl_nwc));
        CK(dnnl_memory_desc_init_by_tag(&cw, 3, wd, dnnl_f32, dnnl_format_tag_any));
        CK(dnnl_memory_desc_init_by_tag(&cwplain, 3, wd, dnnl_f32, dnnl_oiw));
        CK(dnnl_memory_desc_init_by_tag(&cb, 1, bd, dnnl_f32, dnnl_a));
        CK(dnnl_memory_desc_init_by_tag(&cd, 3, dd, dnnl_f32, dnnl_nwc));
        dnnl_convolution_desc_t convd;
        CK(dnnl_convolution_forward_desc_init(&convd, dnnl_forward_inference, dnnl_convolution_direct, &cs, &cw, &cb, &cd, strides, pad, pad));
        dnnl_primitive_desc_t cpd; CK(dnnl_primitive_desc_create(&cpd, &convd, NULL, eng, NULL));
        const char *impl; CK(dnnl_primitive_desc_query(cpd, dnnl_query_impl_info_str, 0, &impl));
        dnnl_memory_desc_t cwchosen = *dnnl_primitive_desc_query_md(cpd, dnnl_query_weights_md, 0);
        dnnl_primitive_t cp; CK(dnnl_primitive_create(&cp, cpd));
        dnnl_memory_t mS, mW[L], mB, mD;
        CK(dnnl_memory_create(&mS, &cs, eng, A)); CK(dnnl_memory_create(&mB, &cb, eng, bias)); CK(dnnl_memory_create(&mD, &cd, eng, C));
        for (int l = 0; l < L; l++) {
            B[l] = malloc(4L * N * K); for (long i = 0; i < (long)N * K; i++) B[l][i] = ((i + l) % 5) * 0.01f;
            P[l] = reorderOnce(&cwplain, B[l], &cwchosen); CK(dnnl_memory_create(&mW[l], &cwchosen, eng, P[l]));
        }
        double t0[R], t1[R];
        for (int rep = 0; rep < R; rep++) {
            double t = now();
            for (int l = 0; l < L; l++) {
                dnnl_exec_arg_t cargs[4] = {{DNNL_ARG_SRC, mS}, {DNNL_ARG_WEIGHTS, mW[l]}, {DNNL_ARG_BIAS, mB}, {DNNL_ARG_DST, mD}};
                CK(dnnl_primitive_execute(cp, st, 4, cargs)); CK(dnnl_stream_wait(st));
            }
            t0[rep] = now() - t; total[0][rep] += t0[rep];
            t = now();
            for (int l = 0; l < L; l++) {
                int tc = ((N + 3) / 4 + 15) / 16 * 16, nct = (N + tc - 1) / tc;
                #pragma omp parallel for num_threads(2) schedule(dynamic,1)
                for (int tile = 0; tile < nct; tile++) {
                    int c0 = tile * tc, nc = N - c0 < tc ? N - c0 : tc;
                    for (int r = 0; r < M; r++) for (int c = 0; c < nc; c++) C[(long)r * N + c0 + c] = bias[c0 + c];
                    dnnl_sgemm('N', 'T', M, nc, K, 1.f, A, K, B[l] + (long)c0 * K, K, 1.f, C + c0, N);
                }
            }
            t1[rep] = now() - t; total[1][rep] += t1[rep];
        }
        qsort(t0, R, 8, cmp); qsort(t1, R, 8, cmp);
        double flop = 2.0 * M * N * K * L;
        printf("%5d x %4d -> %4d  conv median %6.1f best %6.1f   sgemm-tiles median %6.1f best %6.1f GFLOP/s  (%s)\n", M, K, N,
               flop / t0[R/2] / 1e9, flop / t0[0] / 1e9, flop / t1[R/2] / 1e9, flop / t1[0] / 1e9, impl);
        for (int l = 0; l < L; l++) { free(B[l]); free(P[l]); }
    }
    qsort(total[0], R, 8, cmp); qsort(total[1], R, 8, cmp);
    printf("all four x12: conv median %.1f ms, sgemm tiles %.1f ms\n", total[0][R/2]*1e3, total[1][R/2]*1e3);
}
