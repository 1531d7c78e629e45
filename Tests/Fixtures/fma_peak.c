// The machine's float32 FMA peak, to put the engine's per-layer GFLOPS (DNNL_VERBOSE=1 rsynth
// bench) in proportion: independent chains of 512-bit FMAs per thread, best of 5 runs, for one
// thread and for all of OMP_NUM_THREADS (default: every core).
//   cc -O3 -mavx512f -fopenmp Tests/Fixtures/fma_peak.c -o /tmp/fma_peak && /tmp/fma_peak
// Needs AVX-512 (an AVX2-only CPU: -mavx2 -mfma -DUSE_AVX2, 256-bit FMAs).
#include <immintrin.h>
#include <omp.h>
#include <stdio.h>

#ifdef USE_AVX2
typedef __m256 vec;
#define LANES 8
#define SET1 _mm256_set1_ps
#define FMA _mm256_fmadd_ps
#define ADD _mm256_add_ps
static float sum(vec v) { float a[8]; _mm256_storeu_ps(a, v); float s = 0; for (int i = 0; i < 8; i++) s += a[i]; return s; }
#else
typedef __m512 vec;
#define LANES 16
#define SET1 _mm512_set1_ps
#define FMA _mm512_fmadd_ps
#define ADD _mm512_add_ps
static float sum(vec v) { return _mm512_reduce_add_ps(v); }
#endif

#define CHAINS 12   // > FMA latency x FMA ports, so the ports never wait

static double gflops(int threads) {
    const long iters = 20000000;
    double best = 0;
    for (int run = 0; run < 5; run++) {
        float sink = 0;
        double t0 = omp_get_wtime();
#pragma omp parallel num_threads(threads) reduction(+ : sink)
        {
            vec a[CHAINS];
            for (int i = 0; i < CHAINS; i++) a[i] = SET1(0.001f * (float)(i + omp_get_thread_num()));
            const vec b = SET1(0.999f), c = SET1(0.0001f);
            for (long k = 0; k < iters; k++)
                for (int i = 0; i < CHAINS; i++) a[i] = FMA(a[i], b, c);
            vec s = a[0];
            for (int i = 1; i < CHAINS; i++) s = ADD(s, a[i]);
            sink += sum(s);
        }
        double t = omp_get_wtime() - t0;
        double g = 2.0 * LANES * CHAINS * (double)iters * threads / t / 1e9;
        if (g > best) best = g;
        if (sink == 12345.0f) printf(" ");   // keeps the chains alive
    }
    return best;
}

int main(void) {
    int n = omp_get_max_threads();
    printf("float32 FMA peak (%d-bit): 1 thread %.1f GFLOPS, %d threads %.1f GFLOPS\n", LANES * 32, gflops(1), n,
           gflops(n));
    return 0;
}
