// oneDNN's int8 matmul (s8 input × s8 weights reordered once into the primitive's layout, fp32
// out, a fixed per-output-channel scale: what `PackedLinear` runs for --precision int8) against
// the fp32 matmul on the same shape, as GOP/s. The numbers behind `PackedLinear`'s int8 piece
// and split rules (docs/benchmarks-history.md, "int8 inference"). Dev tool, not built by SwiftPM:
//
//   gcc -O2 scripts/probes/int8_gemm.c -o /tmp/int8_gemm -ldnnl
//   /tmp/int8_gemm 384 384 1536                    # rows in out, on the machine's threads
//   OMP_NUM_THREADS=1 /tmp/int8_gemm 192 384 1536  # one thread's share of a split product
#include <oneapi/dnnl/dnnl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define CHECK(x) do { dnnl_status_t s_ = (x); if (s_ != dnnl_success) { printf("failed (%d): %s\n", s_, #x); exit(1); } } while (0)

static double now(void) { struct timespec t; clock_gettime(CLOCK_MONOTONIC, &t); return t.tv_sec + t.tv_nsec * 1e-9; }

int main(int argc, char **argv) {
    if (argc < 4) { fprintf(stderr, "usage: %s rows in out\n", argv[0]); return 2; }
    int M = atoi(argv[1]), K = atoi(argv[2]), N = atoi(argv[3]);
    dnnl_engine_t engine; CHECK(dnnl_engine_create(&engine, dnnl_cpu, 0));
    dnnl_stream_t stream; CHECK(dnnl_stream_create(&stream, engine, dnnl_stream_default_flags));
    for (int int8 = 0; int8 < 2; int8++) {
        dnnl_memory_desc_t src, wei, dst;
        dnnl_dims_t sd = {M, K}, wd = {K, N}, dd = {M, N};
        CHECK(dnnl_memory_desc_init_by_tag(&src, 2, sd, int8 ? dnnl_s8 : dnnl_f32, dnnl_ab));
        CHECK(dnnl_memory_desc_init_by_tag(&wei, 2, wd, int8 ? dnnl_s8 : dnnl_f32, dnnl_format_tag_any));
        CHECK(dnnl_memory_desc_init_by_tag(&dst, 2, dd, dnnl_f32, dnnl_ab));
        dnnl_matmul_desc_t md; CHECK(dnnl_matmul_desc_init(&md, &src, &wei, NULL, &dst));
        dnnl_primitive_attr_t attr; CHECK(dnnl_primitive_attr_create(&attr));
        float *scales = malloc(N * sizeof(float));
        for (int i = 0; i < N; i++) scales[i] = 0.01f;
        if (int8) CHECK(dnnl_primitive_attr_set_output_scales(attr, N, 1 << 1, scales));
        dnnl_primitive_desc_t pd; CHECK(dnnl_primitive_desc_create(&pd, &md, attr, engine, NULL));
        const char *impl; dnnl_primitive_desc_query(pd, dnnl_query_impl_info_str, 0, &impl);
        const dnnl_memory_desc_t *packed = dnnl_primitive_desc_query_md(pd, dnnl_query_weights_md, 0);
        size_t element = int8 ? 1 : 4;
        void *S = aligned_alloc(64, (size_t)M * K * element + 64), *W = aligned_alloc(64, dnnl_memory_desc_get_size(packed) + 64);
        void *D = aligned_alloc(64, (size_t)M * N * 4 + 64);
        memset(S, 1, (size_t)M * K * element); memset(W, 1, dnnl_memory_desc_get_size(packed));
        dnnl_memory_t ms, mw, mdst;
        CHECK(dnnl_memory_create(&ms, &src, engine, S)); CHECK(dnnl_memory_create(&mw, packed, engine, W));
        CHECK(dnnl_memory_create(&mdst, &dst, engine, D));
        dnnl_primitive_t p; CHECK(dnnl_primitive_create(&p, pd));
        dnnl_exec_arg_t args[3] = {{DNNL_ARG_SRC, ms}, {DNNL_ARG_WEIGHTS, mw}, {DNNL_ARG_DST, mdst}};
        for (int i = 0; i < 3; i++) { CHECK(dnnl_primitive_execute(p, stream, 3, args)); CHECK(dnnl_stream_wait(stream)); }
        int rounds = 20; double t = now();
        for (int i = 0; i < rounds; i++) { CHECK(dnnl_primitive_execute(p, stream, 3, args)); CHECK(dnnl_stream_wait(stream)); }
        t = (now() - t) / rounds;
        printf("%s %dx%dx%d impl=%s %.3f ms %.1f GOP/s\n", int8 ? "int8" : "fp32", M, K, N, impl, t * 1e3, 2.0 * M * K * N / t / 1e9);
        dnnl_primitive_destroy(p); dnnl_primitive_desc_destroy(pd); dnnl_primitive_attr_destroy(attr);
        dnnl_memory_destroy(ms); dnnl_memory_destroy(mw); dnnl_memory_destroy(mdst);
        free(S); free(W); free(D); free(scales);
    }
    return 0;
}
