// ResNet kernels: a plain NCHW reference (rk_ref_*) and a oneDNN fast path (rk_net_*).
//
// Shapes (llm.c style): N batch, C/O channels in/out, H,W / OH,OW spatial, K kernel size,
// S stride, P padding. Every tensor is float32. Reference tensors are dense NCHW.
#ifndef RESNET_KERNELS_H
#define RESNET_KERNELS_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

// ---------------------------------------------------------------------------------------------
// Reference kernels (straightforward loops, NCHW). Used by tests on small nets.
// ---------------------------------------------------------------------------------------------

// x[N,C,H,W], w[O,C,K,K], bias[O] or NULL -> y[N,O,OH,OW]; OH = (H + 2P - K)/S + 1.
void rk_ref_conv2d_forward(const float *x, int N, int C, int H, int W, const float *w, const float *bias,
                           int O, int K, int S, int P, float *y, int OH, int OW);
// dy[N,O,OH,OW], w[O,C,K,K] -> dx[N,C,H,W] (overwritten).
void rk_ref_conv2d_backward_data(const float *dy, int N, int O, int OH, int OW, const float *w,
                                 int C, int K, int S, int P, float *dx, int H, int W);
// Grouped (G groups; G <= 1 is dense, exactly the two above): x[N,C,H,W], w[O,C/G,K,K], bias[O] or
// NULL -> y[N,O,OH,OW]; output channel o sees input channels [g*C/G, (g+1)*C/G), g = o / (O/G).
void rk_ref_conv2d_forward_grouped(const float *x, int N, int C, int H, int W, const float *w, const float *bias,
                                   int O, int K, int S, int P, int G, float *y, int OH, int OW);
// dy[N,O,OH,OW], w[O,C/G,K,K] -> dx[N,C,H,W] (overwritten).
void rk_ref_conv2d_backward_data_grouped(const float *dy, int N, int O, int OH, int OW, const float *w,
                                         int C, int K, int S, int P, int G, float *dx, int H, int W);
// x[N,C,HW] -> y[N,C,HW] = (x - mean)/sqrt(var + eps) * gamma + beta (eval-mode BatchNorm).
void rk_ref_batchnorm_forward(const float *x, int N, int C, int HW, const float *gamma, const float *beta,
                              const float *mean, const float *var, float eps, float *y);
// dy[N,C,HW] -> dx[N,C,HW] = dy * gamma/sqrt(var + eps).
void rk_ref_batchnorm_backward(const float *dy, int N, int C, int HW, const float *gamma,
                               const float *var, float eps, float *dx);
// in place: x[n] = max(x[n], 0).
void rk_ref_relu_forward(float *x, size_t n);
// in place: dy[n] = y[n] > 0 ? dy[n] : 0 where y is the ReLU's output.
void rk_ref_relu_backward(float *dy, const float *y, size_t n);
// x[N,C,H,W] -> y[N,C,OH,OW] max over KxK windows (padding ignored); argmax[N,C,OH,OW] = index
// into the H*W plane of the first maximum (PyTorch's tie rule).
void rk_ref_maxpool_forward(const float *x, int N, int C, int H, int W, int K, int S, int P,
                            float *y, int *argmax, int OH, int OW);
// dy[N,C,OH,OW], argmax -> dx[N,C,H,W] (overwritten).
void rk_ref_maxpool_backward(const float *dy, const int *argmax, int N, int C, int OH, int OW,
                             float *dx, int H, int W);

// ---------------------------------------------------------------------------------------------
// oneDNN fast path: a whole ResNet (inference-mode BN already folded into each conv) for one
// batch size; primitives, weights in oneDNN's layouts, activations and scratch buffers are made
// once by rk_net_create and reused by every forward/backward.
// ---------------------------------------------------------------------------------------------

// One convolution: weight[O,C/G,K,K] (plain OIHW; G = groups, 0 or 1 = dense) and either bias[O] (BN already folded) or, with
// bn_gamma set, an eval-mode BatchNorm (gamma, beta, running mean, running var [O], eps) that
// rk_net_create folds in layer by layer. Everything is copied; the caller's arrays may go after.
typedef struct {
    int in_c, out_c, kernel, stride, pad;
    const float *weight;
    const float *bias;
    const float *bn_gamma, *bn_beta, *bn_mean, *bn_var;
    float bn_eps;
    int groups;                  // 0 or 1: dense; G > 1: grouped (in_c and out_c divisible by G)
} rk_conv_desc;

// A residual block: basic (convs 0,1) or bottleneck (convs 0,1,2); optional downsample conv.
typedef struct {
    int bottleneck;       // 0 basic, 1 bottleneck
    int has_downsample;
    rk_conv_desc conv[3];
    rk_conv_desc downsample;
} rk_block_desc;

typedef struct {
    int batch, in_c, in_h, in_w;
    const float *mean, *std;     // [in_c] input normalisation (x - mean)/std
    rk_conv_desc stem;           // conv + folded BN, ReLU follows
    int stem_maxpool;            // 1: 3x3 stride 2 pad 1 max-pool after the stem (ImageNet stem)
    int num_blocks;
    const rk_block_desc *blocks;
    int num_classes;
    const float *fc_weight;      // [num_classes, final channels]
    const float *fc_bias;        // [num_classes]
    int use_winograd;            // 1: try dnnl_convolution_winograd for 3x3 stride-1 convs
    int layout;                  // activations: 0 oneDNN's choice (format_tag_any: nChw16c here), 1 nhwc
    int relu_masks;              // 1: keep u8 ReLU masks instead of the f32 activations (less memory)
    int bfloat16;                // 1: weights, activations and their gradients in bfloat16 (float32
                                 //    accumulation inside each kernel); input, logits and dx stay float32.
                                 //    Fails where oneDNN has only reference kernels for it (no AVX-512).
    // Taps (see rk_net_forward_taps): zero / NULL / 0 makes exactly the net without taps.
    int num_tap_blocks;          // how many block outputs to export
    const int *tap_blocks;       // [num_tap_blocks] distinct block indices (0-based, in desc->blocks)
    int tap_representation;      // 1: also the pooled representation [N, F] (what feeds fc)
} rk_net_desc;

typedef struct rk_net rk_net;

// Returns NULL on failure with a message in err.
rk_net *rk_net_create(const rk_net_desc *desc, char *err, size_t errlen);
void rk_net_destroy(rk_net *net);
// x[N,in_c,H,W] in [0,1] -> logits[N,num_classes]. Returns 0 on success.
int rk_net_forward(rk_net *net, const float *x, float *logits, char *err, size_t errlen);
// dlogits[N,num_classes] -> dx[N,in_c,H,W], the VJP of the most recent forward. Returns 0 on success.
int rk_net_backward(rk_net *net, const float *dlogits, float *dx, char *err, size_t errlen);
// Taps: named intermediate outputs, returned by the forward and given a gradient in the backward.
//   tap t < num_tap_blocks: block tap_blocks[t]'s output after its final ReLU, [N, C, h, w] plain NCHW
//   tap num_tap_blocks (if tap_representation): the representation [N, F]
// rk_net_tap_dims writes tap t's dims and returns their count (4 or 2), or -1 for no such tap.
int rk_net_tap_count(const rk_net *net);
int rk_net_tap_dims(const rk_net *net, int tap, int *dims);
// As rk_net_forward, and tap_out[t] (float32, the shape above) receives tap t. tap_out NULL or an
// entry NULL: not exported (its copy is skipped). Returns 0 on success.
int rk_net_forward_taps(rk_net *net, const float *x, float *logits, float *const *tap_out, char *err, size_t errlen);
// As rk_net_backward, with tap_grad[t] (float32, the shape above) = d(loss)/d(tap t) added where the
// tap leaves the net. tap_grad NULL or an entry NULL: zero (its ops are skipped). Returns 0 on success.
int rk_net_backward_taps(rk_net *net, const float *dlogits, const float *const *tap_grad, float *dx, char *err,
                         size_t errlen);
// Bytes held by the net (weights, activations, scratch, workspaces).
size_t rk_net_bytes(const rk_net *net);
// A newline-separated list "layer: forward impl / backward impl" (owned by the net).
const char *rk_net_impl_info(const rk_net *net);

// The CPU instruction set oneDNN uses here (dnnl_get_effective_cpu_isa, which honours
// ONEDNN_MAX_CPU_ISA / DNNL_MAX_CPU_ISA), its name written into `name`. Returns what it means for
// bfloat16: 0 no AVX-512 (oneDNN 2.6 has no bfloat16 convolutions at all), 1 AVX-512 core
// (bfloat16 kernels for channel counts in multiples of 16), 2 AMX (kernels for small counts too).
int rk_cpu_isa(char *name, size_t len);

// The decisions of the most recent forward, so that a test can run the reference backward
// through exactly the same ones (on deep nets a few ReLU inputs lie within rounding of zero and
// two float32 implementations may switch them differently). dims receives [N, C, H, W]; out
// (NULL: dims only) receives N*C*H*W bytes in plain NCHW order. Return 0 on success.
//   ReLU sites, in forward order: the stem, then for each block t1, [t2,] out; 1 where the
//   post-ReLU activation is > 0.
int rk_net_relu_site_count(const rk_net *net);
int rk_net_relu_decisions(rk_net *net, int site, int *dims, unsigned char *out, char *err, size_t errlen);
//   The stem max-pool: per output, oneDNN's workspace value (the position kh*3 + kw of the maximum
//   in its 3x3 window, counted from the padded window's corner).
int rk_net_maxpool_choices(rk_net *net, int *dims, unsigned char *out, char *err, size_t errlen);

#ifdef __cplusplus
}
#endif
#endif
