// OpenBLAS's CBLAS interface; pkg-config "openblas" supplies the include path.
#include <cblas.h>
