// oneDNN's matmul primitive with the weights reordered once into its own blocked layout
// ("packed") against the same primitive on plain weights and against what bertqa did before
// for inference (each of 2 threads one dnnl_sgemm on half the output columns), at the models'
// layer shapes, bias included in the primitives. The numbers behind `PackedLinear` (fp32);
// docs/benchmarks-history.md ("packed weights"). Dev tool, not built by SwiftPM:
//
//   apt-get install -y libdnnl-dev
//   gcc -O2 -fopenmp scripts/probes/gemm_packed.c -o /tmp/gemm_packed -ldnnl && OMP_NUM_THREADS=2 /tmp/gemm_packed
//
// out (M,N) = inp (M,K) · weightᵀ + bias, weight (N,K) as a Linear layer stores it (the (K,N)
// matrix in "ba" order). Per shape, 40 calls of each variant interleaved, best of each.
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <omp.h>
#include <oneapi/dnnl/dnnl.h>

static double now(void) { struct timespec t; clock_gettime(CLOCK_MONOTONIC, &t); return t.tv_sec + t.tv_nsec * 1e-9; }
#define CK(x) do { dnnl_status_t s_ = (x); if (s_ != dnnl_success) { printf("failed: %s (%d)\n", #x, s_); exit(1); } } while (0)

static dnnl_primitive_t matmul(dnnl_engine_t eng, dnnl_memory_desc_t *src, dnnl_memory_desc_t *w,
                               dnnl_memory_desc_t *bias, dnnl_memory_desc_t *dst, dnnl_memory_desc_t *chosen,
                               const char **impl) {
    dnnl_matmul_desc_t md;
    CK(dnnl_matmul_desc_init(&md, src, w, bias, dst));
    dnnl_primitive_desc_t pd;
    CK(dnnl_primitive_desc_create(&pd, &md, NULL, eng, NULL));
    CK(dnnl_primitive_desc_query(pd, dnnl_query_impl_info_str, 0, impl));
    *chosen = *dnnl_primitive_desc_query_md(pd, dnnl_query_weights_md, 0);
    dnnl_primitive_t p;
    CK(dnnl_primitive_create(&p, pd));
    return p;
}

int main(void) {
    // rows × in → out: BERT-base and MiniLM-L6 at one 384-token window, MiniLM at 16 windows.
    static const int shapes[][3] = {
        {384, 768, 2304}, {384, 768, 768}, {384, 768, 3072}, {384, 3072, 768},
        {384, 384, 1152}, {384, 384, 1536}, {384, 1536, 384}, {6144, 384, 1536}, {6144, 1536, 384},
    };
    dnnl_engine_t eng;
    CK(dnnl_engine_create(&eng, dnnl_cpu, 0));
    dnnl_stream_t st;
    CK(dnnl_stream_create(&st, eng, dnnl_stream_default_flags));
    float *A = malloc(4L * 6144 * 3072), *B = malloc(4L * 3072 * 3072), *C = malloc(4L * 6144 * 3072), *bias = malloc(4 * 3072);
    if (!A || !B || !C || !bias) return 1;
    for (long i = 0; i < 6144L * 3072; i++) { A[i] = (i % 7) * 0.01f; C[i] = 0; }
    for (long i = 0; i < 3072L * 3072; i++) B[i] = (i % 5) * 0.01f;
    for (int i = 0; i < 3072; i++) bias[i] = 0.1f;
    for (unsigned s = 0; s < sizeof shapes / sizeof shapes[0]; s++) {
        const int M = shapes[s][0], K = shapes[s][1], N = shapes[s][2];
        dnnl_memory_desc_t src, wany, wplain, dst, bd, wpacked, unused;
        dnnl_dims_t sd = {M, K}, wd = {K, N}, dd = {M, N}, bdd = {1, N};
        CK(dnnl_memory_desc_init_by_tag(&src, 2, sd, dnnl_f32, dnnl_ab));
        CK(dnnl_memory_desc_init_by_tag(&wany, 2, wd, dnnl_f32, dnnl_format_tag_any));
        CK(dnnl_memory_desc_init_by_tag(&wplain, 2, wd, dnnl_f32, dnnl_ba));
        CK(dnnl_memory_desc_init_by_tag(&dst, 2, dd, dnnl_f32, dnnl_ab));
        CK(dnnl_memory_desc_init_by_tag(&bd, 2, bdd, dnnl_f32, dnnl_ab));
        const char *implPacked, *implPlain;
        dnnl_primitive_t packedP = matmul(eng, &src, &wany, &bd, &dst, &wpacked, &implPacked);
        dnnl_primitive_t plainP = matmul(eng, &src, &wplain, &bd, &dst, &unused, &implPlain);
        // The reorder into the packed layout, once.
        void *packed = aligned_alloc(64, (dnnl_memory_desc_get_size(&wpacked) + 63) / 64 * 64);
        dnnl_memory_t mPlain, mPacked, mSrc, mDst, mBias;
        CK(dnnl_memory_create(&mPlain, &wplain, eng, B));
        CK(dnnl_memory_create(&mPacked, &wpacked, eng, packed));
        dnnl_primitive_desc_t rpd;
        CK(dnnl_reorder_primitive_desc_create(&rpd, &wplain, eng, &wpacked, eng, NULL));
        dnnl_primitive_t rp;
        CK(dnnl_primitive_create(&rp, rpd));
        dnnl_exec_arg_t ra[2] = {{DNNL_ARG_FROM, mPlain}, {DNNL_ARG_TO, mPacked}};
        CK(dnnl_primitive_execute(rp, st, 2, ra));
        CK(dnnl_stream_wait(st));
        CK(dnnl_memory_create(&mSrc, &src, eng, A));
        CK(dnnl_memory_create(&mDst, &dst, eng, C));
        CK(dnnl_memory_create(&mBias, &bd, eng, bias));
        dnnl_exec_arg_t packedArgs[4] = {{DNNL_ARG_SRC, mSrc}, {DNNL_ARG_WEIGHTS, mPacked}, {DNNL_ARG_BIAS, mBias}, {DNNL_ARG_DST, mDst}};
        dnnl_exec_arg_t plainArgs[4] = {{DNNL_ARG_SRC, mSrc}, {DNNL_ARG_WEIGHTS, mPlain}, {DNNL_ARG_BIAS, mBias}, {DNNL_ARG_DST, mDst}};
        double best[3] = {1e9, 1e9, 1e9}, flop = 2.0 * M * N * K;
        for (int rep = 0; rep < 40; rep++) {
            double t = now();
            CK(dnnl_primitive_execute(packedP, st, 4, packedArgs)); CK(dnnl_stream_wait(st));
            t = now() - t; if (t < best[0]) best[0] = t;
            t = now();
            CK(dnnl_primitive_execute(plainP, st, 4, plainArgs)); CK(dnnl_stream_wait(st));
            t = now() - t; if (t < best[1]) best[1] = t;
            t = now();
            #pragma omp parallel num_threads(2)
            {
                int th = omp_get_thread_num(), half = N / 32 * 16;
                int c0 = th ? half : 0, nc = th ? N - half : half;
                dnnl_sgemm('N', 'T', M, nc, K, 1.f, A, K, B + (long)c0 * K, K, 0.f, C + c0, N);
            }
            t = now() - t; if (t < best[2]) best[2] = t;
        }
        printf("%5d x %4d -> %4d  packed %6.1f (%s)  plain %6.1f (%s)  sgemm-colsplit %6.1f GFLOP/s\n",
               M, K, N, flop / best[0] / 1e9, implPacked, flop / best[1] / 1e9, implPlain, flop / best[2] / 1e9);
    }
    return 0;
}
