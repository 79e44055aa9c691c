// oneDNN (Debian: libdnnl-dev) for every matrix product: its dnnl_sgemm is a JIT-compiled
// AVX-512 / AVX2 sgemm that shares packed panels between its threads.
#include <oneapi/dnnl/dnnl.h>

// bfloat16 × bfloat16 → fp32 gemm, row-major like dnnl_sgemm (bf16 training's products).
// libdnnl exports it (DNNL_API, C linkage) but oneDNN 2.6's public header does not declare it
// (later versions do): the declaration below is the library's own. bf16 values are their 16
// bits (oneDNN's bfloat16_t is a struct of one uint16_t).
dnnl_status_t dnnl_gemm_bf16bf16f32(char transa, char transb, dnnl_dim_t M, dnnl_dim_t N,
        dnnl_dim_t K, float alpha, const uint16_t *A, dnnl_dim_t lda, const uint16_t *B,
        dnnl_dim_t ldb, float beta, float *C, dnnl_dim_t ldc);

// GCC's OpenMP runtime (libgomp), the one Debian's oneDNN runs its threads on. Kernels open
// their own parallel regions on the same thread team (GOMP_parallel is what the compiler emits
// for `#pragma omp parallel`), so the element-wise kernels and the matrix products share one
// set of threads instead of two pools competing for the cores.
void GOMP_parallel(void (*fn)(void *), void *data, unsigned num_threads, unsigned int flags);
int omp_get_thread_num(void);
int omp_get_num_threads(void);
int omp_in_parallel(void);
int omp_get_max_threads(void);
