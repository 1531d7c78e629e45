// Reference ResNet kernels: plain loops over dense NCHW float32. Slow and obviously right.
#include "resnet_kernels.h"
#include <math.h>
#include <string.h>

// x[N,C,H,W] * w[O,C/G,K,K] (+ bias[O]) -> y[N,O,OH,OW]; output o reads input channels
// [g*C/G, (g+1)*C/G) with g = o / (O/G). G <= 1: dense, w[O,C,K,K].
void rk_ref_conv2d_forward_grouped(const float *x, int N, int C, int H, int W, const float *w, const float *bias,
                                   int O, int K, int S, int P, int G, float *y, int OH, int OW) {
    if (G < 1) G = 1;
    const int Cg = C / G, Og = O / G;
    for (int n = 0; n < N; n++)
        for (int o = 0; o < O; o++) {
            const int c0 = (o / Og) * Cg;
            for (int oh = 0; oh < OH; oh++)
                for (int ow = 0; ow < OW; ow++) {
                    double acc = bias ? bias[o] : 0.0;
                    for (int c = 0; c < Cg; c++)
                        for (int kh = 0; kh < K; kh++) {
                            int ih = oh * S - P + kh;
                            if (ih < 0 || ih >= H) continue;
                            for (int kw = 0; kw < K; kw++) {
                                int iw = ow * S - P + kw;
                                if (iw < 0 || iw >= W) continue;
                                acc += (double)x[(((size_t)n * C + c0 + c) * H + ih) * W + iw] *
                                       w[(((size_t)o * Cg + c) * K + kh) * K + kw];
                            }
                        }
                    y[(((size_t)n * O + o) * OH + oh) * OW + ow] = (float)acc;
                }
        }
}

// x[N,C,H,W] * w[O,C,K,K] (+ bias[O]) -> y[N,O,OH,OW]
void rk_ref_conv2d_forward(const float *x, int N, int C, int H, int W, const float *w, const float *bias,
                           int O, int K, int S, int P, float *y, int OH, int OW) {
    rk_ref_conv2d_forward_grouped(x, N, C, H, W, w, bias, O, K, S, P, 1, y, OH, OW);
}

// dy[N,O,OH,OW], w[O,C/G,K,K] -> dx[N,C,H,W]: dx[n,c,ih,iw] = sum over (o in c's group, kh, kw)
// with ih = oh*S-P+kh. G <= 1: dense.
void rk_ref_conv2d_backward_data_grouped(const float *dy, int N, int O, int OH, int OW, const float *w,
                                         int C, int K, int S, int P, int G, float *dx, int H, int W) {
    if (G < 1) G = 1;
    const int Cg = C / G, Og = O / G;
    memset(dx, 0, sizeof(float) * (size_t)N * C * H * W);
    for (int n = 0; n < N; n++)
        for (int o = 0; o < O; o++) {
            const int c0 = (o / Og) * Cg;
            for (int oh = 0; oh < OH; oh++)
                for (int ow = 0; ow < OW; ow++) {
                    float g = dy[(((size_t)n * O + o) * OH + oh) * OW + ow];
                    if (g == 0.0f) continue;
                    for (int c = 0; c < Cg; c++)
                        for (int kh = 0; kh < K; kh++) {
                            int ih = oh * S - P + kh;
                            if (ih < 0 || ih >= H) continue;
                            for (int kw = 0; kw < K; kw++) {
                                int iw = ow * S - P + kw;
                                if (iw < 0 || iw >= W) continue;
                                dx[(((size_t)n * C + c0 + c) * H + ih) * W + iw] +=
                                    g * w[(((size_t)o * Cg + c) * K + kh) * K + kw];
                            }
                        }
                }
        }
}

// dy[N,O,OH,OW], w[O,C,K,K] -> dx[N,C,H,W]
void rk_ref_conv2d_backward_data(const float *dy, int N, int O, int OH, int OW, const float *w,
                                 int C, int K, int S, int P, float *dx, int H, int W) {
    rk_ref_conv2d_backward_data_grouped(dy, N, O, OH, OW, w, C, K, S, P, 1, dx, H, W);
}

// x[N,C,HW] -> y[N,C,HW]
void rk_ref_batchnorm_forward(const float *x, int N, int C, int HW, const float *gamma, const float *beta,
                              const float *mean, const float *var, float eps, float *y) {
    for (int n = 0; n < N; n++)
        for (int c = 0; c < C; c++) {
            float inv = 1.0f / sqrtf(var[c] + eps);
            const float *xp = x + ((size_t)n * C + c) * HW;
            float *yp = y + ((size_t)n * C + c) * HW;
            for (int i = 0; i < HW; i++) yp[i] = (xp[i] - mean[c]) * inv * gamma[c] + beta[c];
        }
}

// dy[N,C,HW] -> dx[N,C,HW]
void rk_ref_batchnorm_backward(const float *dy, int N, int C, int HW, const float *gamma,
                               const float *var, float eps, float *dx) {
    for (int n = 0; n < N; n++)
        for (int c = 0; c < C; c++) {
            float s = gamma[c] / sqrtf(var[c] + eps);
            const float *g = dy + ((size_t)n * C + c) * HW;
            float *d = dx + ((size_t)n * C + c) * HW;
            for (int i = 0; i < HW; i++) d[i] = g[i] * s;
        }
}

// x[n] in place
void rk_ref_relu_forward(float *x, size_t n) {
    for (size_t i = 0; i < n; i++) x[i] = x[i] > 0.0f ? x[i] : 0.0f;
}

// dy[n] in place, y[n] the ReLU output
void rk_ref_relu_backward(float *dy, const float *y, size_t n) {
    for (size_t i = 0; i < n; i++) if (!(y[i] > 0.0f)) dy[i] = 0.0f;
}

// x[N,C,H,W] -> y[N,C,OH,OW], argmax[N,C,OH,OW]
void rk_ref_maxpool_forward(const float *x, int N, int C, int H, int W, int K, int S, int P,
                            float *y, int *argmax, int OH, int OW) {
    for (int nc = 0; nc < N * C; nc++) {
        const float *xp = x + (size_t)nc * H * W;
        for (int oh = 0; oh < OH; oh++)
            for (int ow = 0; ow < OW; ow++) {
                float best = -INFINITY;
                int bi = -1;
                for (int kh = 0; kh < K; kh++) {
                    int ih = oh * S - P + kh;
                    if (ih < 0 || ih >= H) continue;
                    for (int kw = 0; kw < K; kw++) {
                        int iw = ow * S - P + kw;
                        if (iw < 0 || iw >= W) continue;
                        float v = xp[ih * W + iw];
                        if (v > best || bi < 0) { best = v; bi = ih * W + iw; }
                    }
                }
                y[((size_t)nc * OH + oh) * OW + ow] = best;
                argmax[((size_t)nc * OH + oh) * OW + ow] = bi;
            }
    }
}

// dy[N,C,OH,OW] -> dx[N,C,H,W]
void rk_ref_maxpool_backward(const float *dy, const int *argmax, int N, int C, int OH, int OW,
                             float *dx, int H, int W) {
    memset(dx, 0, sizeof(float) * (size_t)N * C * H * W);
    for (int nc = 0; nc < N * C; nc++)
        for (int i = 0; i < OH * OW; i++)
            dx[(size_t)nc * H * W + argmax[(size_t)nc * OH * OW + i]] += dy[(size_t)nc * OH * OW + i];
}
