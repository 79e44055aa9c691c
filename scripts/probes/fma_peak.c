// The cores' fp32 multiply-add peak, for scale beside the benchmarks' GFLOP/s: per thread, 12
// independent chains of 8-lane FMAs (enough to cover the FMA latency on every x86-64 core with
// AVX2), on 1 and then 2 threads. Dev tool, not built by SwiftPM:
//
//   gcc -O3 -funroll-all-loops -mavx2 -mfma -fopenmp scripts/probes/fma_peak.c -o /tmp/fma_peak && /tmp/fma_peak
//
// (-O2 without unrolling keeps the chains in memory and measures the store-to-load latency.)
#include <stdio.h>
#include <immintrin.h>
#include <omp.h>
#include <time.h>

static double now(void) { struct timespec t; clock_gettime(CLOCK_MONOTONIC, &t); return t.tv_sec + t.tv_nsec * 1e-9; }

int main(void) {
    const long rounds = 200000000 / 12;
    for (int threads = 1; threads <= 2; threads++) {
        double t = now();
        float sink = 0;
        #pragma omp parallel num_threads(threads) reduction(+:sink)
        {
            __m256 a[12];
            const __m256 b = _mm256_set1_ps(0.999999f), c = _mm256_set1_ps(1e-7f);
            for (int i = 0; i < 12; i++) a[i] = _mm256_set1_ps((float)i);
            for (long n = 0; n < rounds; n++)
                for (int i = 0; i < 12; i++) a[i] = _mm256_fmadd_ps(a[i], b, c);
            for (int i = 0; i < 12; i++) { float f[8]; _mm256_storeu_ps(f, a[i]); sink += f[0]; }
        }
        t = now() - t;
        // 12 chains × 8 lanes × 2 flops per round
        printf("%d thread%s: %.1f GFLOP/s (checksum %g)\n", threads, threads > 1 ? "s" : "",
               threads * rounds * 12 * 16.0 / t / 1e9, sink);
    }
    return 0;
}
