// oneDNN (Debian: libdnnl-dev) for every matrix product: its dnnl_sgemm is a JIT-compiled
// AVX-512 / AVX2 sgemm that shares packed panels between its threads.
#include <oneapi/dnnl/dnnl.h>

// GCC's OpenMP runtime (libgomp), the one Debian's oneDNN runs its threads on. Kernels open
// their own parallel regions on the same thread team (GOMP_parallel is what the compiler emits
// for `#pragma omp parallel`), so the element-wise kernels and the matrix products share one
// set of threads instead of two pools competing for the cores.
void GOMP_parallel(void (*fn)(void *), void *data, unsigned num_threads, unsigned int flags);
int omp_get_thread_num(void);
int omp_get_num_threads(void);
int omp_in_parallel(void);
int omp_get_max_threads(void);
