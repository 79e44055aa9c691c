// OpenBLAS's CBLAS interface; pkg-config "openblas" supplies the include path.
#include <cblas.h>

// OpenBLAS DYNAMIC_ARCH internals (exported by libopenblas): Kernels uses them to pick a real
// kernel when the runtime CPU detection does not know the CPU and falls back to SSE3 "Prescott".
void gotoblas_dynamic_init(void);
void gotoblas_dynamic_quit(void);
