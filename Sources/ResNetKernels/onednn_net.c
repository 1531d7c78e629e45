// The oneDNN fast path for a whole ResNet at one batch size: forward to logits and the
// vector-Jacobian product back to the input pixels (no weight gradients).
//
// Shapes (llm.c style), N = batch:
//   x        [N, C0, H, W]       plain NCHW, in [0,1]; normalised (x - mean)/std into xn
//   stem     xn -> s  [N, W0, H/2, W/2] (ImageNet: 7x7/2 pad 3) or [N, W0, H, W] (CIFAR: 3x3/1 pad 1)
//            conv + folded BN + fused ReLU; s kept (its ReLU mask)
//   maxpool  s -> p   [N, W0, H/4, W/4] 3x3/2 pad 1 (ImageNet stem only), training workspace kept
//   block    a [N, Ci, h, w] -> out [N, Co, h/s, w/s]
//            basic:      t1 = relu(conv3x3/s(a)),  out = relu(conv3x3(t1) + id)
//            bottleneck: t1 = relu(conv1x1(a)), t2 = relu(conv3x3/s(t1)), out = relu(conv1x1(t2) + id)
//            identity: the last conv reads a through a binary_add post-op, then relu (no copy);
//            downsample: conv1x1/s(a) (+ folded BN) is written into out first and the last conv
//            accumulates into it (sum post-op, relu). ReLU masks of s, t1, t2, out kept (u8).
//   head     out_last [N, F, h, w] -> plain -> mean over h*w -> feat [N, F] -> logits [N, K] = feat W^T + b
// Activations stay in the layouts oneDNN picks (format_tag_any; nChw16c on AVX-512) end to end;
// only the input, the final activation and their gradients are reordered to/from plain NCHW.
// Backward (reverse order) uses three rotating scratch buffers of the largest activation size:
//   g = dout * (out > 0)   [binary_mul by the u8 mask, in place; eltwise relu_use_dst_for_bwd on
//                           the kept activation where a layout has no jit kernel for the mask]
//   d = conv_bwd_data(g) ... each followed by the ReLU mask of the kept activation it flows into
//   dx = d_first + (downsample ? ds_bwd_data(g) : g)   [binary add, in place]
// A bottleneck's 1x1/1 convs run their backward-data as forward convs on transposed weights
// (make_fused_bwd), which take post-ops: conv3's the mask of t2, conv1's the add above and the
// mask of the previous block's out (not after a tapped block), so those passes cost nothing extra.
// Taps (rk_net_desc.tap_blocks / tap_representation): forward reorders each tapped block's out into
// the caller's plain NCHW f32 buffer right after the block; backward starts that block's group
// with g += the caller's tap gradient (reordered into a free scratch buffer, binary add).
// representation = pooled [N, F], its gradient added to dpooled before the broadcast.
#include "resnet_kernels.h"

#include <dnnl.h>
#include <dnnl_debug.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#define MAX_ARGS 6

typedef struct {
    dnnl_primitive_t prim;
    int nargs;
    dnnl_exec_arg_t args[MAX_ARGS];
    int tap;                       // -1: always runs; t >= 0: only when the caller passed tap t's buffer
} op_t;

typedef struct {
    op_t *items;
    int count, cap;
} op_list;

struct rk_net {
    dnnl_engine_t engine;
    dnnl_stream_t stream;
    int N, C, H, W, K, F;          // batch, input channels, input size, classes, features
    int fh, fw;                    // final spatial size
    float *mean, *std, *fc_w, *fc_b;
    float *x_plain;                // [N,C,H,W] normalised input
    float *dx_plain;               // [N,C,H,W] gradient w.r.t. the normalised input
    float *feat_plain;             // [N,F,fh,fw]
    float *dfeat_plain;            // [N,F,fh,fw]
    float *pooled;                 // [N,F]
    float *s2d_plain;              // [N,4C,s2d_h,s2d_w] gradient w.r.t. s2d(pad(xn)), when the stem uses it
    dnnl_memory_desc_t s2d_md;
    int s2d_h, s2d_w;
    op_list fwd, bwd;
    // everything to free
    void **bufs; int nbufs, capbufs;
    size_t *sizes; int capsizes;
    dnnl_memory_t *mems; int nmems, capmems;
    dnnl_primitive_t *prims; int nprims, capprims;
    size_t bytes;
    size_t weight_bytes, act_bytes, scratch_bytes;
    // Masks mode: forward activations live in four rotating buffers (three of them the backward
    // scratch) and only u8 ReLU masks are kept for backward. Pool slot 4 is an all-zero region
    // (mmap'd, never written: it costs no resident memory) that activations are compared with.
    int masks;
    dnnl_memory_t *pool_mems; int *pool_slots; int npool, cappool, cappoolslots;
    dnnl_format_tag_t act_tag;     // activation layout: format_tag_any (blocked) or nhwc
    dnnl_data_type_t dt;           // weights, activations, gradients: f32 or bf16 (plain buffers stay f32)
    // The ReLU sites in forward order (stem, then per block t1, [t2], out) and the max-pool's
    // workspace, for rk_net_relu_decisions / rk_net_maxpool_choices (tests of the backward).
    struct { dnnl_memory_desc_t md; dnnl_memory_t act, mask; } *sites; int nsites, capsites;
    dnnl_memory_desc_t pool_ws_md, pool_dst_md; dnnl_memory_t pool_ws;
    char *info; size_t info_len, info_cap;
    // Taps (rk_net_desc.tap_blocks): per tapped block, plain NCHW f32 memory objects whose handles
    // are the caller's buffers, set per call (out: forward, grad: backward).
    struct { int block; dnnl_memory_desc_t plain_md; dnnl_memory_t out, grad; } *taps; int ntaps;
    int tap_rep;                   // representation (pooled [N,F]) is tap ntaps
};

static void seterr(char *err, size_t errlen, const char *fmt, ...) {
    if (!err || errlen == 0) return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
}

#define CHECK(call, what)                                                                   \
    do {                                                                                    \
        dnnl_status_t st_ = (call);                                                         \
        if (st_ != dnnl_success) {                                                          \
            seterr(err, errlen, "%s: %s failed (%s)", what, #call, dnnl_status2str(st_));   \
            return -1;                                                                      \
        }                                                                                   \
    } while (0)

static void *grow(void *p, int *cap, int need, size_t elem) {
    if (need <= *cap) return p;
    int nc = *cap ? *cap * 2 : 16;
    while (nc < need) nc *= 2;
    void *q = realloc(p, (size_t)nc * elem);
    if (!q) abort();
    *cap = nc;
    return q;
}

// Buffers come straight from mmap (zeroed, page-aligned) so that destroying a net really returns
// its memory: through malloc, glibc's adaptive mmap threshold would keep freed 25 MB activations
// in the heap and the next batch size's net would pile on top of them.
static void *net_alloc(rk_net *net, size_t bytes) {
    size_t b = (bytes + 4095) / 4096 * 4096;
    if (b == 0) b = 4096;
    void *p = mmap(NULL, b, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED) return NULL;
    net->bufs = grow(net->bufs, &net->capbufs, net->nbufs + 1, sizeof(void *));
    net->sizes = grow(net->sizes, &net->capsizes, net->nbufs + 1, sizeof(size_t));
    net->sizes[net->nbufs] = b;
    net->bufs[net->nbufs++] = p;
    net->bytes += b;
    return p;
}

static dnnl_memory_t net_mem(rk_net *net, const dnnl_memory_desc_t *md, void *handle) {
    dnnl_memory_t m = NULL;
    if (dnnl_memory_create(&m, md, net->engine, handle) != dnnl_success) return NULL;
    net->mems = grow(net->mems, &net->capmems, net->nmems + 1, sizeof(dnnl_memory_t));
    net->mems[net->nmems++] = m;
    return m;
}

static void keep_prim(rk_net *net, dnnl_primitive_t p) {
    net->prims = grow(net->prims, &net->capprims, net->nprims + 1, sizeof(dnnl_primitive_t));
    net->prims[net->nprims++] = p;
}

static void add_op(op_list *l, dnnl_primitive_t p, int nargs, const dnnl_exec_arg_t *args) {
    l->items = grow(l->items, &l->cap, l->count + 1, sizeof(op_t));
    op_t *o = &l->items[l->count++];
    o->prim = p;
    o->nargs = nargs;
    o->tap = -1;
    memcpy(o->args, args, sizeof(dnnl_exec_arg_t) * (size_t)nargs);
}

static void info_add(rk_net *net, const char *fmt, ...) {
    char line[512];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    if (n < 0) return;
    if ((size_t)n >= sizeof line) n = sizeof line - 1;
    if (net->info_len + (size_t)n + 1 > net->info_cap) {
        size_t nc = net->info_cap ? net->info_cap * 2 : 4096;
        while (nc < net->info_len + (size_t)n + 1) nc *= 2;
        net->info = realloc(net->info, nc);
        net->info_cap = nc;
    }
    memcpy(net->info + net->info_len, line, (size_t)n + 1);
    net->info_len += (size_t)n;
}

static const char *impl_of(const_dnnl_primitive_desc_t pd) {
    const char *s = NULL;
    if (dnnl_primitive_desc_query(pd, dnnl_query_impl_info_str, 0, &s) != dnnl_success || !s) return "?";
    return s;
}

// An activation: a buffer in a oneDNN layout.
typedef struct {
    dnnl_memory_desc_t md;
    void *ptr;
    dnnl_memory_t mem;
    size_t bytes;
    dnnl_memory_t mask;            // masks mode: u8 (a > 0) in md's layout, kept for backward
    dnnl_primitive_t mask_mul;     // masks mode: diff *= mask (binary mul, f32 x u8 -> f32)
} act_t;

typedef struct {
    size_t max_bytes;      // the largest activation (for the backward scratch buffers)
    float *scratch[3];
} plan_t;

// One reorder from -> to (layouts from_md, to_md), run now and waited for; nothing is kept.
static dnnl_status_t reorder_now(rk_net *net, const dnnl_memory_desc_t *from_md, dnnl_memory_t from,
                                 const dnnl_memory_desc_t *to_md, dnnl_memory_t to) {
    dnnl_primitive_desc_t rpd = NULL;
    dnnl_primitive_t r = NULL;
    dnnl_status_t st = dnnl_reorder_primitive_desc_create(&rpd, from_md, net->engine, to_md, net->engine, NULL);
    if (st == dnnl_success) st = dnnl_primitive_create(&r, rpd);
    if (st == dnnl_success) {
        dnnl_exec_arg_t a[2] = {{DNNL_ARG_FROM, from}, {DNNL_ARG_TO, to}};
        st = dnnl_primitive_execute(r, net->stream, 2, a);
    }
    if (st == dnnl_success) st = dnnl_stream_wait(net->stream);
    if (r) dnnl_primitive_destroy(r);
    if (rpd) dnnl_primitive_desc_destroy(rpd);
    return st;
}

// The weights' dims: [O, C, K, K] dense, [G, O/G, C/G, K, K] grouped (G = cd->groups > 1);
// returns the number of dims (4 or 5).
static int weight_dims(const rk_conv_desc *cd, dnnl_dims_t wd) {
    const int G = cd->groups > 1 ? cd->groups : 1;
    if (G == 1) {
        wd[0] = cd->out_c; wd[1] = cd->in_c; wd[2] = cd->kernel; wd[3] = cd->kernel;
        return 4;
    }
    wd[0] = G; wd[1] = cd->out_c / G; wd[2] = cd->in_c / G; wd[3] = cd->kernel; wd[4] = cd->kernel;
    return 5;
}

// Reorders plain OIHW weights (grouped: [O, C/G, K, K] = goihw) into `md` (the layout a
// primitive picked); returns the memory.
static int load_weights(rk_net *net, const rk_conv_desc *cd, const float *weight, const dnnl_memory_desc_t *md,
                        dnnl_memory_t *out, char *err, size_t errlen) {
    dnnl_dims_t wd;
    const int nd = weight_dims(cd, wd);
    dnnl_memory_desc_t plain;
    CHECK(dnnl_memory_desc_init_by_tag(&plain, nd, wd, dnnl_f32, nd == 5 ? dnnl_goihw : dnnl_oihw), "weights");
    dnnl_memory_t src = NULL;
    CHECK(dnnl_memory_create(&src, &plain, net->engine, (void *)weight), "weights");
    void *buf = net_alloc(net, dnnl_memory_desc_get_size(md));
    net->weight_bytes += dnnl_memory_desc_get_size(md);
    dnnl_memory_t dst = net_mem(net, md, buf);
    if (!buf || !dst) { dnnl_memory_destroy(src); seterr(err, errlen, "out of memory (weights)"); return -1; }
    dnnl_status_t st = reorder_now(net, &plain, src, md, dst);
    dnnl_memory_destroy(src);
    if (st != dnnl_success) { seterr(err, errlen, "weights reorder: %s", dnnl_status2str(st)); return -1; }
    *out = dst;
    return 0;
}

static int new_act(rk_net *net, plan_t *plan, const dnnl_memory_desc_t *md, act_t *a, char *err, size_t errlen) {
    memset(a, 0, sizeof *a);
    a->md = *md;
    a->bytes = dnnl_memory_desc_get_size(md);
    a->ptr = net_alloc(net, a->bytes);
    net->act_bytes += a->bytes;
    a->mem = a->ptr ? net_mem(net, md, a->ptr) : NULL;
    if (!a->mem) { seterr(err, errlen, "out of memory (activation of %zu bytes)", a->bytes); return -1; }
    if (a->bytes > plan->max_bytes) plan->max_bytes = a->bytes;
    return 0;
}

// A memory object with layout md over forward pool slot `slot` (its buffer is set at the end).
static dnnl_memory_t pool_mem(rk_net *net, const dnnl_memory_desc_t *md, int slot) {
    dnnl_memory_t m = net_mem(net, md, DNNL_MEMORY_NONE);
    if (!m) return NULL;
    net->pool_mems = grow(net->pool_mems, &net->cappool, net->npool + 1, sizeof(dnnl_memory_t));
    net->pool_slots = grow(net->pool_slots, &net->cappoolslots, net->npool + 1, sizeof(int));
    net->pool_mems[net->npool] = m;
    net->pool_slots[net->npool++] = slot;
    return m;
}

// Masks mode: an activation in forward pool slot `slot` (0..3).
static int pooled_act(rk_net *net, plan_t *plan, const dnnl_memory_desc_t *md, int slot, act_t *a, char *err,
                      size_t errlen) {
    memset(a, 0, sizeof *a);
    a->md = *md;
    a->bytes = dnnl_memory_desc_get_size(md);
    a->mem = pool_mem(net, md, slot);
    if (!a->mem) { seterr(err, errlen, "memory object"); return -1; }
    if (a->bytes > plan->max_bytes) plan->max_bytes = a->bytes;
    return 0;
}

// The primitives of a ReLU mask for activations a with layout md:
//   gt:  m[N,C,h,w] (u8) = a[N,C,h,w] > zero[N,C,h,w]   (forward, after a is written)
//   mul: d[N,C,h,w] = d * m                              (backward, in place)
// (oneDNN 2.6 has jit:uni kernels for these; against a broadcast scalar zero only ref:any.)
// Returns 1 where only ref kernels exist (then the f32 activations are kept instead).
static int mask_prims(rk_net *net, const dnnl_memory_desc_t *md, dnnl_primitive_t *gt, dnnl_primitive_t *mul) {
    dnnl_memory_desc_t mmd = *md;
    mmd.data_type = dnnl_u8;
    dnnl_binary_desc_t d1, d2;
    dnnl_primitive_desc_t p1 = NULL, p2 = NULL;
    int ok = dnnl_binary_desc_init(&d1, dnnl_binary_gt, md, md, &mmd) == dnnl_success &&
             dnnl_primitive_desc_create(&p1, &d1, NULL, net->engine, NULL) == dnnl_success &&
             dnnl_binary_desc_init(&d2, dnnl_binary_mul, md, &mmd, md) == dnnl_success &&
             dnnl_primitive_desc_create(&p2, &d2, NULL, net->engine, NULL) == dnnl_success &&
             strncmp(impl_of(p1), "ref", 3) != 0 && strncmp(impl_of(p2), "ref", 3) != 0;
    if (ok && gt) ok = dnnl_primitive_create(gt, p1) == dnnl_success;
    if (ok && mul) ok = dnnl_primitive_create(mul, p2) == dnnl_success;
    if (p1) dnnl_primitive_desc_destroy(p1);
    if (p2) dnnl_primitive_desc_destroy(p2);
    return ok ? 0 : 1;
}

// Masks mode: appends "mask = a > 0" to the forward ops (after a's producer) and keeps the mask.
static int add_mask(rk_net *net, act_t *a, char *err, size_t errlen) {
    dnnl_primitive_t gt = NULL, mul = NULL;
    if (mask_prims(net, &a->md, &gt, &mul)) { seterr(err, errlen, "relu mask: no kernel"); return -2; }
    keep_prim(net, gt);
    keep_prim(net, mul);
    dnnl_memory_desc_t mmd = a->md;
    mmd.data_type = dnnl_u8;
    size_t bytes = dnnl_memory_desc_get_size(&mmd);
    void *buf = net_alloc(net, bytes);
    dnnl_memory_t zero = pool_mem(net, &a->md, 4);
    if (!buf || !zero) { seterr(err, errlen, "out of memory (mask)"); return -1; }
    net->act_bytes += bytes;
    a->mask = net_mem(net, &mmd, buf);
    a->mask_mul = mul;
    dnnl_exec_arg_t args[3] = {{DNNL_ARG_SRC_0, a->mem}, {DNNL_ARG_SRC_1, zero}, {DNNL_ARG_DST, a->mask}};
    add_op(&net->fwd, gt, 3, args);
    return 0;
}

// A reorder primitive from `from` to `to` (memory descs).
static int make_reorder(rk_net *net, const dnnl_memory_desc_t *from, const dnnl_memory_desc_t *to,
                        dnnl_primitive_t *out, char *err, size_t errlen) {
    dnnl_primitive_desc_t rpd = NULL;
    CHECK(dnnl_reorder_primitive_desc_create(&rpd, from, net->engine, to, net->engine, NULL), "reorder");
    dnnl_status_t st = dnnl_primitive_create(out, rpd);
    dnnl_primitive_desc_destroy(rpd);
    if (st != dnnl_success) { seterr(err, errlen, "reorder: %s", dnnl_status2str(st)); return -1; }
    keep_prim(net, *out);
    return 0;
}

// A convolution layer, made in build order during the forward plan.
typedef struct {
    dnnl_primitive_desc_t fwd_pd, bwd_pd;
    dnnl_primitive_t fwd, bwd;
    dnnl_memory_t w_fwd, w_bwd, bias;
    dnnl_memory_desc_t src_md, dst_md;
    dnnl_memory_desc_t diff_src_md;   // = src_md unless the layer was made with free_diff_src
    int wino_fwd, wino_bwd;
    int binary_add;                   // residual as a binary-add post-op (DNNL_ARG_SRC_1 of post-op 0)
    int bwd_fused;                    // bwd is a forward conv on transposed weights (make_fused_bwd)
    int fused_add, fused_mask;        // ... with these post-ops (add: post-op 0, mask: the next one)
} conv_t;

// What a 1x1/1 convolution's backward may take into its epilogue (make_fused_bwd): the residual
// path's gradient added (add) and the u8 ReLU mask of the activation its gradient flows into
// (mask_md, NULL: none).
typedef struct {
    int add;
    const dnnl_memory_desc_t *mask_md;
} bwd_fuse_t;

// The refusal of a bfloat16 layer oneDNN has no fast kernel for (only ref, or none at all: CPUs
// without AVX-512 have no bfloat16 convolution).
static void no_bf16_kernel(const rk_conv_desc *cd, const char *name, char *err, size_t errlen) {
    seterr(err, errlen, "bfloat16: oneDNN has no fast kernel for %s (%dx%d, %d->%d channels) on this CPU; use float32",
           name, cd->kernel, cd->kernel, cd->in_c, cd->out_c);
}

// Whether oneDNN has a Winograd forward kernel for this convolution with the sum post-op (and ReLU).
static int wino_with_sum(rk_net *net, const dnnl_memory_desc_t *src_md, const dnnl_memory_desc_t *w_md,
                         const dnnl_memory_desc_t *b_md, const dnnl_memory_desc_t *d_md, const dnnl_dims_t strides,
                         const dnnl_dims_t pad, int relu) {
    dnnl_primitive_attr_t attr = NULL;
    dnnl_post_ops_t po = NULL;
    if (dnnl_primitive_attr_create(&attr) != dnnl_success) return 0;
    if (dnnl_post_ops_create(&po) != dnnl_success) { dnnl_primitive_attr_destroy(attr); return 0; }
    dnnl_post_ops_append_sum(po, 1.0f);
    if (relu) dnnl_post_ops_append_eltwise(po, 1.0f, dnnl_eltwise_relu, 0.0f, 0.0f);
    dnnl_primitive_attr_set_post_ops(attr, po);
    dnnl_post_ops_destroy(po);
    dnnl_convolution_desc_t d;
    dnnl_primitive_desc_t pd = NULL;
    int ok = dnnl_convolution_forward_desc_init(&d, dnnl_forward_training, dnnl_convolution_winograd, src_md, w_md, b_md,
                                                d_md, strides, pad, pad) == dnnl_success &&
             dnnl_primitive_desc_create(&pd, &d, attr, net->engine, NULL) == dnnl_success;
    if (pd) dnnl_primitive_desc_destroy(pd);
    dnnl_primitive_attr_destroy(attr);
    return ok;
}

// Creates conv forward (+ post-ops: [sum], relu) and backward-data primitives.
//   forward:       src [N, C, H, W] (src_md), w [O, C, K, K] (folded), b [O] -> dst [N, O, OH, OW]
//   backward-data: diff_dst [N, O, OH, OW] -> diff_src [N, C, H, W] (same layouts as forward)
// src_md: fixed layout of the input; dst_md: fixed layout, or NULL for format any.
// A 1x1/1 convolution's backward-data as the forward convolution it equals, with what follows it
// in the backward pass as post-ops (oneDNN 2.6's backward-data takes no post-ops), which saves
// the separate memory-bound passes of the binary add and mask multiply:
//   w [O, I, 1, 1] (plain, BN folded) -> wt [I, O, 1, 1], wt[i, o] = w[o, i]
//   dx[N, I, h, w] = (conv1x1(dy[N, O, h, w], wt) + add[N, I, h, w]) * mask[N, I, h, w]
// dy in the forward's dst layout, dx, add and mask (u8) in its src layout. Returns 0 and sets
// c->bwd_pd, c->w_bwd; 1 where oneDNN has only its reference kernel for it (then backward-data is used);
// -1 on error. RSYNTH_RESNET_UNFUSED_BWD=1 turns it off (for measuring).
static int make_fused_bwd(rk_net *net, const rk_conv_desc *cd, const float *weight, conv_t *c, const bwd_fuse_t *fuse,
                          char *err, size_t errlen) {
    if (cd->kernel != 1 || cd->stride != 1 || cd->pad != 0 || cd->groups > 1 || getenv("RSYNTH_RESNET_UNFUSED_BWD"))
        return 1;
    dnnl_dims_t wd = {cd->in_c, cd->out_c, 1, 1}, one = {1, 1}, zero = {0, 0};
    dnnl_memory_desc_t w_any;
    CHECK(dnnl_memory_desc_init_by_tag(&w_any, 4, wd, net->dt, dnnl_format_tag_any), "fused backward");
    dnnl_primitive_attr_t attr = NULL;
    dnnl_post_ops_t po = NULL;
    CHECK(dnnl_primitive_attr_create(&attr), "fused backward");
    CHECK(dnnl_post_ops_create(&po), "fused backward");
    dnnl_status_t st = dnnl_success;
    if (fuse->add) st = dnnl_post_ops_append_binary(po, dnnl_binary_add, &c->src_md);
    if (st == dnnl_success && fuse->mask_md) st = dnnl_post_ops_append_binary(po, dnnl_binary_mul, fuse->mask_md);
    if (st == dnnl_success) st = dnnl_primitive_attr_set_post_ops(attr, po);
    dnnl_post_ops_destroy(po);
    dnnl_convolution_desc_t d;
    dnnl_primitive_desc_t pd = NULL;
    if (st == dnnl_success)
        st = dnnl_convolution_forward_desc_init(&d, dnnl_forward_inference, dnnl_convolution_direct, &c->dst_md, &w_any,
                                                NULL, &c->src_md, one, zero, zero);
    if (st == dnnl_success) st = dnnl_primitive_desc_create(&pd, &d, attr, net->engine, NULL);
    dnnl_primitive_attr_destroy(attr);
    if (st != dnnl_success) return 1;
    if (strncmp(impl_of(pd), "ref", 3) == 0 ||
        !dnnl_memory_desc_equal(dnnl_primitive_desc_query_md(pd, dnnl_query_dst_md, 0), &c->src_md)) {
        dnnl_primitive_desc_destroy(pd);
        return 1;
    }
    const size_t I = (size_t)cd->in_c, O = (size_t)cd->out_c;
    float *wt = malloc(sizeof(float) * I * O);
    if (!wt) { dnnl_primitive_desc_destroy(pd); seterr(err, errlen, "out of memory (transposed weights)"); return -1; }
    for (size_t o = 0; o < O; o++)
        for (size_t i = 0; i < I; i++) wt[i * O + o] = weight[o * I + i];
    rk_conv_desc t = *cd;
    t.in_c = cd->out_c; t.out_c = cd->in_c;
    int rc = load_weights(net, &t, wt, dnnl_primitive_desc_query_md(pd, dnnl_query_weights_md, 0), &c->w_bwd, err, errlen);
    free(wt);
    if (rc) { dnnl_primitive_desc_destroy(pd); return -1; }
    c->bwd_pd = pd;
    c->bwd_fused = 1;
    c->fused_add = fuse->add;
    c->fused_mask = fuse->mask_md != NULL;
    return 0;
}

static int make_conv_w(rk_net *net, const rk_conv_desc *cd, const float *weight, const float *bias, int N, int H, int W, const dnnl_memory_desc_t *src_md,
                     const dnnl_memory_desc_t *dst_md, int relu, int sum, int try_wino, int need_bwd,
                     int free_diff_src, const bwd_fuse_t *fuse, const char *name, conv_t *c, char *err, size_t errlen) {
    memset(c, 0, sizeof *c);
    if (cd->groups > 1 && (cd->in_c % cd->groups || cd->out_c % cd->groups)) {
        seterr(err, errlen, "%s: %d groups do not divide %d->%d channels", name, cd->groups, cd->in_c, cd->out_c);
        return -1;
    }
    int OH = (H + 2 * cd->pad - cd->kernel) / cd->stride + 1;
    int OW = (W + 2 * cd->pad - cd->kernel) / cd->stride + 1;
    dnnl_dims_t wd, bd = {cd->out_c};
    const int wnd = weight_dims(cd, wd);   // grouped: [G, O/G, C/G, K, K]
    dnnl_dims_t dd = {N, cd->out_c, OH, OW};
    dnnl_dims_t strides = {cd->stride, cd->stride}, pad = {cd->pad, cd->pad};
    dnnl_memory_desc_t w_any, b_md, d_md;
    CHECK(dnnl_memory_desc_init_by_tag(&w_any, wnd, wd, net->dt, dnnl_format_tag_any), name);
    CHECK(dnnl_memory_desc_init_by_tag(&b_md, 1, bd, dnnl_f32, dnnl_a), name);
    if (dst_md) d_md = *dst_md;
    else CHECK(dnnl_memory_desc_init_by_tag(&d_md, 4, dd, net->dt, net->act_tag), name);

    // sum == 2: the residual comes in as a binary-add post-op (src1 = a tensor in dst's layout), so
    // no copy of it into dst is needed; kept only if oneDNN has a non-ref kernel for it (and
    // Winograd where Winograd was asked for), else the caller copies and we use the sum post-op.
    int wino = try_wino && cd->kernel == 3 && cd->stride == 1 && wnd == 4;   // Winograd: dense only
    dnnl_primitive_attr_t attr = NULL;
    dnnl_status_t st = dnnl_unimplemented;
    for (int mode = sum; ; mode = 1) {
        dnnl_post_ops_t po = NULL;
        CHECK(dnnl_primitive_attr_create(&attr), name);
        CHECK(dnnl_post_ops_create(&po), name);
        if (mode == 1) CHECK(dnnl_post_ops_append_sum(po, 1.0f), name);
        if (mode == 2) CHECK(dnnl_post_ops_append_binary(po, dnnl_binary_add, &d_md), name);
        if (relu) CHECK(dnnl_post_ops_append_eltwise(po, 1.0f, dnnl_eltwise_relu, 0.0f, 0.0f), name);
        CHECK(dnnl_primitive_attr_set_post_ops(attr, po), name);
        dnnl_post_ops_destroy(po);

        c->wino_fwd = 0;
        if (wino) {
            dnnl_convolution_desc_t d;
            st = dnnl_convolution_forward_desc_init(&d, dnnl_forward_training, dnnl_convolution_winograd, src_md, &w_any,
                                                    &b_md, &d_md, strides, pad, pad);
            if (st == dnnl_success) st = dnnl_primitive_desc_create(&c->fwd_pd, &d, attr, net->engine, NULL);
            c->wino_fwd = st == dnnl_success;
        }
        if (!c->wino_fwd) {
            dnnl_convolution_desc_t d;
            CHECK(dnnl_convolution_forward_desc_init(&d, dnnl_forward_training, dnnl_convolution_direct, src_md, &w_any,
                                                     &b_md, &d_md, strides, pad, pad), name);
            st = dnnl_primitive_desc_create(&c->fwd_pd, &d, attr, net->engine, NULL);
        }
        // Winograd with the sum post-op beats direct with binary add; where this CPU has no
        // Winograd kernel at all (AVX2 only), direct with binary add is the best there is.
        if (mode == 2 && (st != dnnl_success || strncmp(impl_of(c->fwd_pd), "ref", 3) == 0 ||
                          (wino && !c->wino_fwd && wino_with_sum(net, src_md, &w_any, &b_md, &d_md, strides, pad, relu)))) {
            if (st == dnnl_success) dnnl_primitive_desc_destroy(c->fwd_pd);
            c->fwd_pd = NULL;
            dnnl_primitive_attr_destroy(attr);
            continue;   // retry with the sum post-op
        }
        c->binary_add = mode == 2;
        break;
    }
    if (st != dnnl_success) {
        dnnl_primitive_attr_destroy(attr);
        if (net->dt == dnnl_bf16) no_bf16_kernel(cd, name, err, errlen);
        else seterr(err, errlen, "%s: no forward convolution (%s)", name, dnnl_status2str(st));
        return -1;
    }
    dnnl_primitive_attr_destroy(attr);
    c->src_md = *dnnl_primitive_desc_query_md(c->fwd_pd, dnnl_query_src_md, 0);
    c->dst_md = *dnnl_primitive_desc_query_md(c->fwd_pd, dnnl_query_dst_md, 0);
    CHECK(dnnl_primitive_create(&c->fwd, c->fwd_pd), name);
    keep_prim(net, c->fwd);
    if (load_weights(net, cd, weight, dnnl_primitive_desc_query_md(c->fwd_pd, dnnl_query_weights_md, 0), &c->w_fwd, err,
                     errlen))
        return -1;
    void *bb = net_alloc(net, sizeof(float) * (size_t)cd->out_c);
    if (!bb) { seterr(err, errlen, "out of memory"); return -1; }
    memcpy(bb, bias, sizeof(float) * (size_t)cd->out_c);
    c->bias = net_mem(net, &b_md, bb);

    c->diff_src_md = c->src_md;
    if (need_bwd && fuse && !free_diff_src) {
        int f = make_fused_bwd(net, cd, weight, c, fuse, err, errlen);
        if (f < 0) return -1;
    }
    if (need_bwd && free_diff_src) {
        // The stem: its gradient goes back to plain NCHW anyway, so let backward-data pick its own
        // diff_src layout (with 3 input channels and diff_src nchw oneDNN 2.6 only has ref:any).
        static const dnnl_format_tag_t tags[] = {dnnl_format_tag_any, dnnl_nChw16c, dnnl_nhwc};
        for (int t = 0; t < 3; t++) {
            dnnl_memory_desc_t ds;
            CHECK(dnnl_memory_desc_init_by_tag(&ds, 4, c->src_md.dims, net->dt, tags[t]), name);
            dnnl_convolution_desc_t d;
            dnnl_primitive_desc_t pd = NULL;
            if (dnnl_convolution_backward_data_desc_init(&d, dnnl_convolution_direct, &ds, &w_any, &c->dst_md, strides,
                                                         pad, pad) != dnnl_success) continue;
            if (dnnl_primitive_desc_create(&pd, &d, NULL, net->engine, c->fwd_pd) != dnnl_success) continue;
            if (strncmp(impl_of(pd), "ref", 3) == 0 && t < 2) { dnnl_primitive_desc_destroy(pd); continue; }
            c->bwd_pd = pd;
            c->diff_src_md = *dnnl_primitive_desc_query_md(pd, dnnl_query_diff_src_md, 0);
            break;
        }
    }
    if (need_bwd && !c->bwd_pd) {
        // Backward data with the forward's exact src/dst layouts (the ReLU masks and adds are elementwise).
        st = dnnl_unimplemented;
        if (c->wino_fwd) {
            dnnl_convolution_desc_t d;
            st = dnnl_convolution_backward_data_desc_init(&d, dnnl_convolution_winograd, &c->src_md, &w_any, &c->dst_md,
                                                          strides, pad, pad);
            if (st == dnnl_success) st = dnnl_primitive_desc_create(&c->bwd_pd, &d, NULL, net->engine, c->fwd_pd);
            c->wino_bwd = st == dnnl_success;
        }
        if (!c->wino_bwd) {
            dnnl_convolution_desc_t d;
            CHECK(dnnl_convolution_backward_data_desc_init(&d, dnnl_convolution_direct, &c->src_md, &w_any, &c->dst_md,
                                                           strides, pad, pad), name);
            st = dnnl_primitive_desc_create(&c->bwd_pd, &d, NULL, net->engine, c->wino_fwd ? NULL : c->fwd_pd);
            if (st != dnnl_success && c->wino_fwd) {
                // A direct forward descriptor as the hint.
                dnnl_convolution_desc_t fd;
                dnnl_primitive_desc_t hint = NULL;
                CHECK(dnnl_convolution_forward_desc_init(&fd, dnnl_forward_training, dnnl_convolution_direct, &c->src_md,
                                                         &w_any, &b_md, &c->dst_md, strides, pad, pad), name);
                CHECK(dnnl_primitive_desc_create(&hint, &fd, NULL, net->engine, NULL), name);
                st = dnnl_primitive_desc_create(&c->bwd_pd, &d, NULL, net->engine, hint);
                dnnl_primitive_desc_destroy(hint);
            }
            if (st != dnnl_success) {
                if (net->dt == dnnl_bf16) no_bf16_kernel(cd, name, err, errlen);
                else seterr(err, errlen, "%s: no backward-data convolution (%s)", name, dnnl_status2str(st));
                return -1;
            }
        }
    }
    if (need_bwd) {
        CHECK(dnnl_primitive_create(&c->bwd, c->bwd_pd), name);
        keep_prim(net, c->bwd);
    }
    if (need_bwd && !c->bwd_fused) {
        const dnnl_memory_desc_t *bw = dnnl_primitive_desc_query_md(c->bwd_pd, dnnl_query_weights_md, 0);
        const dnnl_memory_desc_t *fw = dnnl_primitive_desc_query_md(c->fwd_pd, dnnl_query_weights_md, 0);
        if (dnnl_memory_desc_equal(bw, fw)) c->w_bwd = c->w_fwd;
        else if (load_weights(net, cd, weight, bw, &c->w_bwd, err, errlen)) return -1;
    }
    if (net->dt == dnnl_bf16 && (strncmp(impl_of(c->fwd_pd), "ref", 3) == 0 ||
                                 (need_bwd && strncmp(impl_of(c->bwd_pd), "ref", 3) == 0))) {
        // oneDNN's reference bfloat16 kernels are hundreds of times slower than float32.
        no_bf16_kernel(cd, name, err, errlen);
        return -1;
    }
    char groups[24] = "";
    if (wnd == 5) snprintf(groups, sizeof groups, " g%d", cd->groups);
    info_add(net, "%s %dx%d/%d%s %d->%d @%dx%d: fwd %s%s%s | bwd %s%s%s%s%s%s\n", name, cd->kernel, cd->kernel, cd->stride,
             groups, cd->in_c, cd->out_c, H, W, impl_of(c->fwd_pd), c->wino_fwd ? " (winograd)" : "",
             c->binary_add ? " +binary add" : (sum ? " +sum" : ""),
             need_bwd ? impl_of(c->bwd_pd) : "-", c->wino_bwd ? " (winograd)" : "",
             c->bwd_fused ? " (as forward on transposed weights" : "", c->fused_add ? " +add" : "",
             c->fused_mask ? " +mask" : "", c->bwd_fused ? ")" : "");
    return 0;
}

// w[O, C/G, K, K], BN [O] -> malloc'd w'[O, C/G, K, K], b'[O] (see make_conv; per output channel,
// grouped or not); a desc without BN is copied.
static int fold_bn(const rk_conv_desc *cd, float **wout, float **bout) {
    size_t per = (size_t)(cd->in_c / (cd->groups > 1 ? cd->groups : 1)) * cd->kernel * cd->kernel;
    float *w = malloc(sizeof(float) * per * (size_t)cd->out_c);
    float *b = malloc(sizeof(float) * (size_t)cd->out_c);
    if (!w || !b) { free(w); free(b); return -1; }
    for (int o = 0; o < cd->out_c; o++) {
        float sc = cd->bn_gamma ? cd->bn_gamma[o] / sqrtf(cd->bn_var[o] + cd->bn_eps) : 1.0f;
        for (size_t i = 0; i < per; i++) w[o * per + i] = cd->weight[o * per + i] * sc;
        b[o] = cd->bn_gamma ? cd->bn_beta[o] - cd->bn_mean[o] * sc : (cd->bias ? cd->bias[o] : 0.0f);
    }
    *wout = w; *bout = b;
    return 0;
}

// Whether oneDNN has only its reference kernel (ref:any, orders of magnitude slower) for this
// grouped convolution, forward or (need_bwd) backward-data. On AVX2 and AVX-512 2.6 has jit kernels
// only from some channels per group (ResNeXt-50 32x4d's first stages, 4 and 8 per group, get ref).
static int grouped_only_ref(rk_net *net, const rk_conv_desc *cd, int N, int H, int W, const dnnl_memory_desc_t *src_md,
                            int need_bwd) {
    dnnl_dims_t wd, bd = {cd->out_c};
    const int wnd = weight_dims(cd, wd);
    int OH = (H + 2 * cd->pad - cd->kernel) / cd->stride + 1, OW = (W + 2 * cd->pad - cd->kernel) / cd->stride + 1;
    dnnl_dims_t dd = {N, cd->out_c, OH, OW};
    dnnl_dims_t strides = {cd->stride, cd->stride}, pad = {cd->pad, cd->pad};
    dnnl_memory_desc_t w_any, b_md, d_md;
    if (dnnl_memory_desc_init_by_tag(&w_any, wnd, wd, net->dt, dnnl_format_tag_any) != dnnl_success ||
        dnnl_memory_desc_init_by_tag(&b_md, 1, bd, dnnl_f32, dnnl_a) != dnnl_success ||
        dnnl_memory_desc_init_by_tag(&d_md, 4, dd, net->dt, net->act_tag) != dnnl_success) return 1;
    dnnl_convolution_desc_t d;
    dnnl_primitive_desc_t fpd = NULL, bpd = NULL;
    int ref = 1;
    if (dnnl_convolution_forward_desc_init(&d, dnnl_forward_training, dnnl_convolution_direct, src_md, &w_any, &b_md,
                                           &d_md, strides, pad, pad) == dnnl_success &&
        dnnl_primitive_desc_create(&fpd, &d, NULL, net->engine, NULL) == dnnl_success) {
        ref = strncmp(impl_of(fpd), "ref", 3) == 0;
        if (!ref && need_bwd) {
            dnnl_convolution_desc_t b;
            const dnnl_memory_desc_t *s = dnnl_primitive_desc_query_md(fpd, dnnl_query_src_md, 0);
            const dnnl_memory_desc_t *o = dnnl_primitive_desc_query_md(fpd, dnnl_query_dst_md, 0);
            ref = !(dnnl_convolution_backward_data_desc_init(&b, dnnl_convolution_direct, s, &w_any, o, strides, pad,
                                                             pad) == dnnl_success &&
                    dnnl_primitive_desc_create(&bpd, &b, NULL, net->engine, fpd) == dnnl_success &&
                    strncmp(impl_of(bpd), "ref", 3) != 0);
        }
    }
    if (bpd) dnnl_primitive_desc_destroy(bpd);
    if (fpd) dnnl_primitive_desc_destroy(fpd);
    return ref;
}

// Grouped weights w[O, C/G, K, K] -> malloc'd block-diagonal dense w'[O, C, K, K]: output o keeps
// its group's C/G input channels, every other input channel gets weight 0 (exactly the grouped conv).
static float *expand_groups(const rk_conv_desc *cd, const float *w) {
    const int G = cd->groups, Cg = cd->in_c / G, Og = cd->out_c / G;
    const size_t kk = (size_t)cd->kernel * cd->kernel;
    float *d = calloc((size_t)cd->out_c * cd->in_c * kk, sizeof(float));
    if (!d) return NULL;
    for (int o = 0; o < cd->out_c; o++) {
        const int c0 = (o / Og) * Cg;
        memcpy(d + ((size_t)o * cd->in_c + c0) * kk, w + (size_t)o * Cg * kk, sizeof(float) * Cg * kk);
    }
    return d;
}

// Folds eval-mode BatchNorm into the convolution (one layer at a time, so no second copy of the
// whole model exists): w'[o] = w[o] * s[o], b'[o] = beta[o] - mean[o] * s[o], s = gamma / sqrt(var + eps).
//   w[O, C/G, K, K], gamma/beta/mean/var[O] -> w'[O, C/G, K, K], b'[O]
// A grouped conv oneDNN has only ref kernels for runs as the equivalent dense conv with
// block-diagonal weights (G times the arithmetic, but jit: far faster than ref); the switch
// RSYNTH_RESNET_GROUPED_REF=1 keeps it grouped for measuring.
static int make_conv(rk_net *net, const rk_conv_desc *cd, int N, int H, int W, const dnnl_memory_desc_t *src_md,
                     const dnnl_memory_desc_t *dst_md, int relu, int sum, int try_wino, int need_bwd,
                     int free_diff_src, const bwd_fuse_t *fuse, const char *name, conv_t *c, char *err, size_t errlen) {
    const float *w0 = cd->weight, *b0 = cd->bias;
    float *w = NULL, *b = NULL, *wx = NULL;
    if (cd->bn_gamma) {
        if (fold_bn(cd, &w, &b)) { seterr(err, errlen, "out of memory (folding %s)", name); return -1; }
        w0 = w; b0 = b;
    }
    rk_conv_desc dense;
    const rk_conv_desc *use = cd;
    char dense_name[96];
    if (cd->groups > 1 && !getenv("RSYNTH_RESNET_GROUPED_REF") && grouped_only_ref(net, cd, N, H, W, src_md, need_bwd)) {
        wx = expand_groups(cd, w0);
        if (!wx) { free(w); free(b); seterr(err, errlen, "out of memory (expanding %s)", name); return -1; }
        dense = *cd; dense.groups = 1; dense.weight = wx;
        use = &dense; w0 = wx;
        snprintf(dense_name, sizeof dense_name, "%s (g%d as dense)", name, cd->groups);
        name = dense_name;
    }
    int rc = make_conv_w(net, use, w0, b0, N, H, W, src_md, dst_md, relu, sum, try_wino, need_bwd, free_diff_src, fuse,
                         name, c, err, errlen);
    free(wx);
    free(w);
    free(b);
    return rc;
}

static void free_conv_pds(conv_t *c) {
    if (c->fwd_pd) dnnl_primitive_desc_destroy(c->fwd_pd);
    if (c->bwd_pd) dnnl_primitive_desc_destroy(c->bwd_pd);
    c->fwd_pd = c->bwd_pd = NULL;
}

static void fwd_conv_op(rk_net *net, conv_t *c, dnnl_memory_t src, dnnl_memory_t dst) {
    dnnl_exec_arg_t a[4] = {{DNNL_ARG_SRC, src}, {DNNL_ARG_WEIGHTS, c->w_fwd}, {DNNL_ARG_BIAS, c->bias},
                            {DNNL_ARG_DST, dst}};
    add_op(&net->fwd, c->fwd, 4, a);
}

// dsrc = backward-data(ddst); a backward made as a forward conv (make_fused_bwd, the stem's
// space-to-depth) reads src, writes dst and takes its post-ops' second inputs: add (if
// c->fused_add), then mask (if c->fused_mask).
static void bwd_conv_op(rk_net *net, conv_t *c, dnnl_memory_t ddst, dnnl_memory_t dsrc, dnnl_memory_t add,
                        dnnl_memory_t mask) {
    dnnl_exec_arg_t a[MAX_ARGS] = {{c->bwd_fused ? DNNL_ARG_SRC : DNNL_ARG_DIFF_DST, ddst}, {DNNL_ARG_WEIGHTS, c->w_bwd},
                                   {c->bwd_fused ? DNNL_ARG_DST : DNNL_ARG_DIFF_SRC, dsrc}};
    int n = 3, po = 0;
    if (c->fused_add) a[n++] = (dnnl_exec_arg_t){DNNL_ARG_ATTR_MULTIPLE_POST_OP(po++) | DNNL_ARG_SRC_1, add};
    if (c->fused_mask) a[n++] = (dnnl_exec_arg_t){DNNL_ARG_ATTR_MULTIPLE_POST_OP(po++) | DNNL_ARG_SRC_1, mask};
    add_op(&net->bwd, c->bwd, n, a);
}

// In-place ReLU backward: diff[i] = dst[i] > 0 ? diff[i] : 0.   dst, diff: [N, C, h, w] in dst's layout
static int relu_bwd_op(rk_net *net, op_list *l, const act_t *dst, dnnl_memory_t diff, char *err, size_t errlen) {
    if (dst->mask) {
        dnnl_exec_arg_t a[3] = {{DNNL_ARG_SRC_0, diff}, {DNNL_ARG_SRC_1, dst->mask}, {DNNL_ARG_DST, diff}};
        add_op(l, dst->mask_mul, 3, a);
        return 0;
    }
    dnnl_eltwise_desc_t d;
    CHECK(dnnl_eltwise_backward_desc_init(&d, dnnl_eltwise_relu_use_dst_for_bwd, &dst->md, &dst->md, 0.0f, 0.0f),
          "relu backward");
    // A forward hint with the same algorithm.
    dnnl_eltwise_desc_t fd;
    dnnl_primitive_desc_t hint = NULL, pd = NULL;
    CHECK(dnnl_eltwise_forward_desc_init(&fd, dnnl_forward_training, dnnl_eltwise_relu_use_dst_for_bwd, &dst->md, 0.0f,
                                         0.0f), "relu backward");
    CHECK(dnnl_primitive_desc_create(&hint, &fd, NULL, net->engine, NULL), "relu backward");
    dnnl_status_t st = dnnl_primitive_desc_create(&pd, &d, NULL, net->engine, hint);
    dnnl_primitive_desc_destroy(hint);
    if (st != dnnl_success) { seterr(err, errlen, "relu backward: %s", dnnl_status2str(st)); return -1; }
    dnnl_primitive_t p = NULL;
    st = dnnl_primitive_create(&p, pd);
    dnnl_primitive_desc_destroy(pd);
    if (st != dnnl_success) { seterr(err, errlen, "relu backward: %s", dnnl_status2str(st)); return -1; }
    keep_prim(net, p);
    dnnl_exec_arg_t a[3] = {{DNNL_ARG_DST, dst->mem}, {DNNL_ARG_DIFF_DST, diff}, {DNNL_ARG_DIFF_SRC, diff}};
    add_op(l, p, 3, a);
    return 0;
}

// In place: acc += other.   acc, other: [N, C, h, w], same layout md
static int add_op_binary(rk_net *net, op_list *l, const dnnl_memory_desc_t *md, dnnl_memory_t acc, dnnl_memory_t other,
                         char *err, size_t errlen) {
    dnnl_binary_desc_t d;
    dnnl_primitive_desc_t pd = NULL;
    CHECK(dnnl_binary_desc_init(&d, dnnl_binary_add, md, md, md), "add");
    CHECK(dnnl_primitive_desc_create(&pd, &d, NULL, net->engine, NULL), "add");
    dnnl_primitive_t p = NULL;
    dnnl_status_t st = dnnl_primitive_create(&p, pd);
    dnnl_primitive_desc_destroy(pd);
    if (st != dnnl_success) { seterr(err, errlen, "add: %s", dnnl_status2str(st)); return -1; }
    keep_prim(net, p);
    dnnl_exec_arg_t a[3] = {{DNNL_ARG_SRC_0, acc}, {DNNL_ARG_SRC_1, other}, {DNNL_ARG_DST, acc}};
    add_op(l, p, 3, a);
    return 0;
}

static int reorder_op(rk_net *net, op_list *l, const dnnl_memory_desc_t *from_md, dnnl_memory_t from,
                      const dnnl_memory_desc_t *to_md, dnnl_memory_t to, char *err, size_t errlen) {
    dnnl_primitive_t r = NULL;
    if (make_reorder(net, from_md, to_md, &r, err, errlen)) return -1;
    dnnl_exec_arg_t a[2] = {{DNNL_ARG_FROM, from}, {DNNL_ARG_TO, to}};
    add_op(l, r, 2, a);
    return 0;
}

// A memory object over scratch buffer i with layout md.
static dnnl_memory_t scratch_mem(rk_net *net, plan_t *plan, int i, const dnnl_memory_desc_t *md) {
    return net_mem(net, md, plan->scratch[i]);
}

// The ImageNet stem's backward-data through space-to-depth. The 7x7/2 pad-3 conv over x[N,C,H,W]
// equals a 4x4/1 unpadded conv over z = s2d(pad(x)) [N, 4C, Sh, Sw] (Sh = ceil((H+6)/2)), with
//   z[n, c*4 + p*2 + q, i, j] = xpad[n, c, 2i + p, 2j + q]
//   w2[o, c*4 + p*2 + q, a, b] = w[o, c, 2a + p, 2b + q]   (0 where 2a+p or 2b+q is 7)
// so dx = crop(d2s(bwd_data_4x4(dstem))). oneDNN pads diff_src channels to 16: 4C = 12 wastes
// 1.3x where C = 3 wasted 5.3x (the direct 7x7 backward-data was the slowest conv per FLOP).
// Returns 0 and fills net->s2d_* and *c, or 1 (not applicable / only ref: use the plain stem
// backward), or -1 on error.
static int make_stem_s2d(rk_net *net, const rk_net_desc *desc, const conv_t *stem, plan_t *plan, conv_t *c,
                         char *err, size_t errlen) {
    const rk_conv_desc *cd = &desc->stem;
    if (cd->kernel != 7 || cd->stride != 2 || cd->pad != 3) return 1;
    const int N = desc->batch, C = cd->in_c, O = cd->out_c, C4 = 4 * C;
    const int Sh = (desc->in_h + 7) / 2, Sw = (desc->in_w + 7) / 2;
    if (Sh - 3 != stem->dst_md.dims[2] || Sw - 3 != stem->dst_md.dims[3]) return 1;
    float *wf, *bf;
    if (fold_bn(cd, &wf, &bf)) { seterr(err, errlen, "out of memory"); return -1; }
    float *w2 = calloc((size_t)O * C4 * 16, sizeof(float));
    if (!w2) { free(wf); free(bf); seterr(err, errlen, "out of memory"); return -1; }
    for (int o = 0; o < O; o++)
        for (int ci = 0; ci < C; ci++)
            for (int kh = 0; kh < 7; kh++)
                for (int kw = 0; kw < 7; kw++) {
                    int c2 = ci * 4 + (kh & 1) * 2 + (kw & 1), a = kh >> 1, b = kw >> 1;
                    w2[(((size_t)o * C4 + c2) * 4 + a) * 4 + b] = wf[(((size_t)o * C + ci) * 7 + kh) * 7 + kw];
                }
    free(wf);
    rk_conv_desc cd2 = {C4, O, 4, 1, 0, w2, bf, NULL, NULL, NULL, NULL, 0.0f};
    memset(c, 0, sizeof *c);
    int rc = -1;
    dnnl_dims_t zd = {N, C4, Sh, Sw}, wd = {O, C4, 4, 4}, bd = {O}, st = {1, 1}, pd0 = {0, 0};
    dnnl_memory_desc_t z_any, w_any, b_md;
    dnnl_convolution_desc_t fd, bdsc;
    dnnl_primitive_desc_t fpd = NULL;
    if (dnnl_memory_desc_init_by_tag(&z_any, 4, zd, net->dt, dnnl_format_tag_any) != dnnl_success ||
        dnnl_memory_desc_init_by_tag(&w_any, 4, wd, net->dt, dnnl_format_tag_any) != dnnl_success ||
        dnnl_memory_desc_init_by_tag(&b_md, 1, bd, dnnl_f32, dnnl_a) != dnnl_success) goto out;
    if (dnnl_convolution_forward_desc_init(&fd, dnnl_forward_training, dnnl_convolution_direct, &z_any, &w_any, &b_md,
                                           &stem->dst_md, st, pd0, pd0) != dnnl_success ||
        dnnl_primitive_desc_create(&fpd, &fd, NULL, net->engine, NULL) != dnnl_success ||
        dnnl_convolution_backward_data_desc_init(&bdsc, dnnl_convolution_direct, &z_any, &w_any, &stem->dst_md, st, pd0,
                                                 pd0) != dnnl_success ||
        dnnl_primitive_desc_create(&c->bwd_pd, &bdsc, NULL, net->engine, fpd) != dnnl_success) { rc = 1; goto out; }
    if (strncmp(impl_of(c->bwd_pd), "ref", 3) == 0) { rc = 1; goto out; }
    // Faster still with oneDNN's AVX-512 kernels: that backward-data as the forward conv it
    // equals, dz = conv4x4/1 pad 3 (dstem, wf), wf[c, o, a, b] = w2[o, c, 3 - a, 3 - b]
    // (ResNet-50 at batch 8, float32: 17 against 23 ms per step; with the AVX2 kernels it was
    // slower, 22 against 19 ms, so there backward-data stays; DNNL_VERBOSE=1 rsynth bench
    // --batch 8 --steps 2 with and without RSYNTH_RESNET_S2D_BWD_DATA=1 and ONEDNN_MAX_CPU_ISA=AVX2).
    float *wf2 = getenv("RSYNTH_RESNET_S2D_BWD_DATA") ? NULL : malloc(sizeof(float) * (size_t)O * C4 * 16);
    if (wf2) {
        for (int o = 0; o < O; o++)
            for (int c2 = 0; c2 < C4; c2++)
                for (int a = 0; a < 4; a++)
                    for (int b = 0; b < 4; b++)
                        wf2[(((size_t)c2 * O + o) * 4 + a) * 4 + b] = w2[(((size_t)o * C4 + c2) * 4 + 3 - a) * 4 + 3 - b];
        dnnl_dims_t wfd = {C4, O, 4, 4}, p3 = {3, 3};
        dnnl_memory_desc_t wf_any;
        dnnl_convolution_desc_t ffd;
        dnnl_primitive_desc_t ppd = NULL;
        if (dnnl_memory_desc_init_by_tag(&wf_any, 4, wfd, net->dt, dnnl_format_tag_any) == dnnl_success &&
            dnnl_convolution_forward_desc_init(&ffd, dnnl_forward_inference, dnnl_convolution_direct, &stem->dst_md,
                                               &wf_any, NULL, &z_any, st, p3, p3) == dnnl_success &&
            dnnl_primitive_desc_create(&ppd, &ffd, NULL, net->engine, NULL) == dnnl_success &&
            strncmp(impl_of(ppd), "ref", 3) != 0 && strstr(impl_of(ppd), "avx512")) {
            dnnl_primitive_desc_destroy(c->bwd_pd);
            c->bwd_pd = ppd;
            c->bwd_fused = 1;
            memcpy(w2, wf2, sizeof(float) * (size_t)O * C4 * 16);
            cd2.in_c = O; cd2.out_c = C4;
        } else if (ppd) {
            dnnl_primitive_desc_destroy(ppd);
        }
        free(wf2);
    }
    if (dnnl_primitive_create(&c->bwd, c->bwd_pd) != dnnl_success) { rc = 1; goto out; }
    keep_prim(net, c->bwd);
    if (load_weights(net, &cd2, w2, dnnl_primitive_desc_query_md(c->bwd_pd, dnnl_query_weights_md, 0), &c->w_bwd, err,
                     errlen)) goto out;
    c->diff_src_md = *dnnl_primitive_desc_query_md(c->bwd_pd, c->bwd_fused ? dnnl_query_dst_md : dnnl_query_diff_src_md, 0);
    if (dnnl_memory_desc_get_size(&c->diff_src_md) > plan->max_bytes) plan->max_bytes = dnnl_memory_desc_get_size(&c->diff_src_md);
    if (dnnl_memory_desc_init_by_tag(&net->s2d_md, 4, zd, dnnl_f32, dnnl_nchw) != dnnl_success) goto out;
    net->s2d_plain = net_alloc(net, dnnl_memory_desc_get_size(&net->s2d_md));
    if (!net->s2d_plain) { seterr(err, errlen, "out of memory"); goto out; }
    net->s2d_h = Sh; net->s2d_w = Sw;
    info_add(net, "stem backward via space-to-depth 4x4/1 %d->%d @%dx%d: bwd %s%s\n", C4, O, Sh, Sw, impl_of(c->bwd_pd),
             c->bwd_fused ? " (as forward on flipped transposed weights)" : "");
    rc = 0;
out:
    if (fpd) dnnl_primitive_desc_destroy(fpd);
    if (c->bwd_pd) { dnnl_primitive_desc_destroy(c->bwd_pd); c->bwd_pd = NULL; }
    free(w2);
    free(bf);
    return rc;
}

// Records a ReLU site (after its mask, if any, was added).
static void add_site(rk_net *net, const act_t *a) {
    net->sites = grow(net->sites, &net->capsites, net->nsites + 1, sizeof *net->sites);
    net->sites[net->nsites].md = a->md;
    net->sites[net->nsites].act = a->mem;
    net->sites[net->nsites++].mask = a->mask;
}

// ---- taps: block outputs copied out in forward, their gradients added in backward ----

// The index of block b among the tapped blocks (rk_net_desc.tap_blocks), or -1.
static int tap_of_block(const rk_net_desc *desc, int b) {
    for (int t = 0; t < desc->num_tap_blocks; t++)
        if (desc->tap_blocks[t] == b) return t;
    return -1;
}

// Forward, right after tapped block output `out` is complete: out -> the caller's plain NCHW f32
// buffer [N, C, h, w]. Now, because in masks mode the next blocks overwrite out's rotating buffer.
static int add_tap_forward(rk_net *net, int t, const act_t *out, char *err, size_t errlen) {
    CHECK(dnnl_memory_desc_init_by_tag(&net->taps[t].plain_md, 4, out->md.dims, dnnl_f32, dnnl_nchw), "tap");
    net->taps[t].out = net_mem(net, &net->taps[t].plain_md, DNNL_MEMORY_NONE);
    net->taps[t].grad = net_mem(net, &net->taps[t].plain_md, DNNL_MEMORY_NONE);
    if (!net->taps[t].out || !net->taps[t].grad) { seterr(err, errlen, "tap %d: memory object", t); return -1; }
    if (reorder_op(net, &net->fwd, &out->md, out->mem, &net->taps[t].plain_md, net->taps[t].out, err, errlen)) return -1;
    net->fwd.items[net->fwd.count - 1].tap = t;
    return 0;
}

// Backward, at the start of the tapped block's group (g = d(block output), before g *= out > 0):
//   caller's gradient [N, C, h, w] plain -> tmp (layout md, a free scratch buffer); g += tmp
static int add_tap_backward(rk_net *net, int t, const dnnl_memory_desc_t *md, dnnl_memory_t g, dnnl_memory_t tmp,
                            char *err, size_t errlen) {
    if (reorder_op(net, &net->bwd, &net->taps[t].plain_md, net->taps[t].grad, md, tmp, err, errlen)) return -1;
    net->bwd.items[net->bwd.count - 1].tap = t;
    if (add_op_binary(net, &net->bwd, md, g, tmp, err, errlen)) return -1;
    net->bwd.items[net->bwd.count - 1].tap = t;
    return 0;
}

static int build(rk_net *net, const rk_net_desc *desc, char *err, size_t errlen) {
    const int N = desc->batch;
    plan_t plan;
    memset(&plan, 0, sizeof plan);
    int nconvs = 1 + 4 * desc->num_blocks;
    conv_t *convs = calloc((size_t)nconvs, sizeof(conv_t));
    int rc = -1, mrc = 0;
    if (!convs) { seterr(err, errlen, "out of memory"); return -1; }
    int ci = 0;

    // Backward needs the scratch buffers, whose size is only known after the forward plan, so the
    // backward ops record *which* scratch buffer (0..3) they use; their memory objects are made at the end.
    typedef struct { int group; int kind; conv_t *conv; act_t act; int s_in, s_out, s_other; dnnl_memory_desc_t md_in, md_out; int tap; } bstep;
    // kinds: 0 relu-mask(act, s_in) 1 conv bwd(conv, s_in -> s_out) 2 add(md_in, s_in += s_other)
    //        3 tap gradient (tap, s_in += it via s_other) 5 end of block: its dx is in s_in (the next group's g)
    //        6 nothing (a mask a fused conv took over)
    //        kind 1 of a fused conv (make_fused_bwd) also adds s_other (conv->fused_add) and
    //        multiplies by act's mask (conv->fused_mask)
    // Scratch indices are logical: 0 = the group's g, 1 and 2 = the two other buffers.
    bstep *steps = NULL;
    int nsteps = 0, capsteps = 0;
#define STEP(...) do { steps = grow(steps, &capsteps, nsteps + 1, sizeof(bstep)); steps[nsteps++] = (bstep){__VA_ARGS__}; } while (0)

    // ---- input: plain NCHW, normalised on the host side ----
    dnnl_dims_t xd = {N, desc->in_c, desc->in_h, desc->in_w};
    dnnl_memory_desc_t x_md;
    if (dnnl_memory_desc_init_by_tag(&x_md, 4, xd, dnnl_f32, dnnl_nchw) != dnnl_success) goto done;
    net->x_plain = net_alloc(net, dnnl_memory_desc_get_size(&x_md));
    dnnl_memory_t x_mem = net_mem(net, &x_md, net->x_plain);
    if (dnnl_memory_desc_get_size(&x_md) > plan.max_bytes) plan.max_bytes = dnnl_memory_desc_get_size(&x_md);

    // ---- stem ----
    dnnl_memory_desc_t x_any;
    if (dnnl_memory_desc_init_by_tag(&x_any, 4, xd, net->dt, dnnl_format_tag_any) != dnnl_success) goto done;
    conv_t *stem = &convs[ci++];
    dnnl_format_tag_t act_tag = net->act_tag;
    net->act_tag = dnnl_format_tag_any;   // the stem (3 input channels) picks its own output layout
    int stem_rc = make_conv(net, &desc->stem, N, desc->in_h, desc->in_w, &x_any, NULL, 1, 0, desc->use_winograd, 1, 1,
                            NULL, "stem", stem, err, errlen);
    net->act_tag = act_tag;
    if (stem_rc) goto done;
    if (dnnl_memory_desc_get_size(&stem->diff_src_md) > plan.max_bytes)
        plan.max_bytes = dnnl_memory_desc_get_size(&stem->diff_src_md);
    conv_t stem_s2d;
    int s2d = getenv("RSYNTH_RESNET_NO_S2D") ? 1 : make_stem_s2d(net, desc, stem, &plan, &stem_s2d, err, errlen);
    if (s2d < 0) goto done;
    dnnl_memory_t stem_src = x_mem;
    int stem_src_plain = dnnl_memory_desc_equal(&stem->src_md, &x_md);
    act_t xs;
    if (!stem_src_plain) {
        if (new_act(net, &plan, &stem->src_md, &xs, err, errlen)) goto done;
        if (reorder_op(net, &net->fwd, &x_md, x_mem, &stem->src_md, xs.mem, err, errlen)) goto done;
        stem_src = xs.mem;
    }
    net->masks = desc->relu_masks && !getenv("RSYNTH_RESNET_F32_MASKS") && mask_prims(net, &stem->dst_md, NULL, NULL) == 0;
    act_t s;
    if (net->masks ? pooled_act(net, &plan, &stem->dst_md, 0, &s, err, errlen)
                   : new_act(net, &plan, &stem->dst_md, &s, err, errlen)) goto done;
    fwd_conv_op(net, stem, stem_src, s.mem);
    if (net->masks && (mrc = add_mask(net, &s, err, errlen)) != 0) { rc = mrc; goto done; }
    add_site(net, &s);
    int in_slot = 0;
    int h = (desc->in_h + 2 * desc->stem.pad - desc->stem.kernel) / desc->stem.stride + 1;
    int w = (desc->in_w + 2 * desc->stem.pad - desc->stem.kernel) / desc->stem.stride + 1;
    act_t cur = s;
    dnnl_primitive_t pool_bwd = NULL;
    dnnl_memory_t pool_ws = NULL;
    if (desc->stem_maxpool) {
        int ph = (h + 2 - 3) / 2 + 1, pw = (w + 2 - 3) / 2 + 1;
        dnnl_dims_t pd_dims = {N, desc->stem.out_c, ph, pw};
        dnnl_memory_desc_t p_any;
        dnnl_dims_t k = {3, 3}, st2 = {2, 2}, p1 = {1, 1};
        dnnl_pooling_desc_t fd, bd;
        dnnl_primitive_desc_t fpd = NULL, bpd = NULL;
        if (dnnl_memory_desc_init_by_tag(&p_any, 4, pd_dims, net->dt, net->act_tag) != dnnl_success) goto done;
        dnnl_status_t st = dnnl_pooling_forward_desc_init(&fd, dnnl_forward_training, dnnl_pooling_max, &s.md, &p_any, st2,
                                                          k, p1, p1);
        if (st == dnnl_success) st = dnnl_primitive_desc_create(&fpd, &fd, NULL, net->engine, NULL);
        if (st != dnnl_success) { seterr(err, errlen, "max-pool forward: %s", dnnl_status2str(st)); goto done; }
        act_t p;
        const dnnl_memory_desc_t *pmd = dnnl_primitive_desc_query_md(fpd, dnnl_query_dst_md, 0);
        const dnnl_memory_desc_t *wmd = dnnl_primitive_desc_query_md(fpd, dnnl_query_workspace_md, 0);
        if (net->masks ? pooled_act(net, &plan, pmd, 1, &p, err, errlen) : new_act(net, &plan, pmd, &p, err, errlen)) {
            dnnl_primitive_desc_destroy(fpd);
            goto done;
        }
        in_slot = 1;
        void *wsb = net_alloc(net, dnnl_memory_desc_get_size(wmd));
        pool_ws = net_mem(net, wmd, wsb);
        net->pool_ws = pool_ws; net->pool_ws_md = *wmd; net->pool_dst_md = p.md;
        dnnl_primitive_t pf = NULL;
        st = dnnl_primitive_create(&pf, fpd);
        if (st == dnnl_success) {
            keep_prim(net, pf);
            dnnl_exec_arg_t a[3] = {{DNNL_ARG_SRC, s.mem}, {DNNL_ARG_DST, p.mem}, {DNNL_ARG_WORKSPACE, pool_ws}};
            add_op(&net->fwd, pf, 3, a);
            st = dnnl_pooling_backward_desc_init(&bd, dnnl_pooling_max, &s.md, &p.md, st2, k, p1, p1);
        }
        if (st == dnnl_success) st = dnnl_primitive_desc_create(&bpd, &bd, NULL, net->engine, fpd);
        if (st == dnnl_success) st = dnnl_primitive_create(&pool_bwd, bpd);
        if (st == dnnl_success) keep_prim(net, pool_bwd);
        info_add(net, "maxpool 3x3/2 @%dx%d: fwd %s | bwd %s\n", h, w, impl_of(fpd), bpd ? impl_of(bpd) : "-");
        if (bpd) dnnl_primitive_desc_destroy(bpd);
        dnnl_primitive_desc_destroy(fpd);
        if (st != dnnl_success) { seterr(err, errlen, "max-pool: %s", dnnl_status2str(st)); goto done; }
        cur = p;
        h = ph; w = pw;
    }
    act_t stem_out = s;
    act_t pool_out = cur;

    // ---- blocks ----
    for (int b = 0; b < desc->num_blocks; b++) {
        const rk_block_desc *bd = &desc->blocks[b];
        int nc = bd->bottleneck ? 3 : 2;
        char name[64];
        act_t in = cur;
        int stride = bd->conv[bd->bottleneck ? 1 : 0].stride;
        int oh = (h - 1) / stride + 1, ow = (w - 1) / stride + 1;
        conv_t *ds = NULL;
        act_t out;
        // masks mode: in, out, t1, t2 in four distinct pool slots
        int slots[3];
        for (int k = 0, j = 0; k < 3; j++) if (j != in_slot) slots[k++] = j;
        if (bd->has_downsample) {
            ds = &convs[ci++];
            snprintf(name, sizeof name, "block%d.downsample", b);
            if (make_conv(net, &bd->downsample, N, h, w, &in.md, NULL, 0, 0, 0, 1, 0, NULL, name, ds, err, errlen)) goto done;
            if (net->masks ? pooled_act(net, &plan, &ds->dst_md, slots[0], &out, err, errlen)
                           : new_act(net, &plan, &ds->dst_md, &out, err, errlen)) goto done;
            fwd_conv_op(net, ds, in.mem, out.mem);
        } else {
            if (net->masks ? pooled_act(net, &plan, &in.md, slots[0], &out, err, errlen)
                           : new_act(net, &plan, &in.md, &out, err, errlen)) goto done;
        }
        act_t t[2];
        act_t src = in;
        int ch = h, cw = w;
        conv_t *cs[3];
        for (int i = 0; i < nc; i++) {
            cs[i] = &convs[ci++];
            snprintf(name, sizeof name, "block%d.conv%d", b, i + 1);
            int last = i == nc - 1;
            int resid = last ? (ds ? 1 : 2) : 0;
            // A bottleneck's 1x1 convs take into their backward what follows them there: the last
            // one t2's mask; the first one the residual path's gradient and the mask of the
            // previous block's out (unless that block is tapped: its tap's gradient comes first).
            dnnl_memory_desc_t fmask;
            bwd_fuse_t fuse = {0, NULL};
            const act_t *into = i == 0 ? &in : &t[i - 1];
            if (into->mask && (i > 0 || (b > 0 && tap_of_block(desc, b - 1) < 0))) {
                fmask = into->md;
                fmask.data_type = dnnl_u8;
                fuse.mask_md = &fmask;
            }
            fuse.add = i == 0;
            if (make_conv(net, &bd->conv[i], N, ch, cw, &src.md, last ? &out.md : NULL, 1, resid, desc->use_winograd, 1,
                          0, nc == 3 && (i == 0 || last) ? &fuse : NULL, name, cs[i], err, errlen)) goto done;
            ch = (ch + 2 * bd->conv[i].pad - bd->conv[i].kernel) / bd->conv[i].stride + 1;
            cw = (cw + 2 * bd->conv[i].pad - bd->conv[i].kernel) / bd->conv[i].stride + 1;
            if (last && cs[i]->binary_add) {
                // out = relu(conv(src) + b + in): the identity as the post-op's second input
                dnnl_exec_arg_t a[5] = {{DNNL_ARG_SRC, src.mem}, {DNNL_ARG_WEIGHTS, cs[i]->w_fwd},
                                        {DNNL_ARG_BIAS, cs[i]->bias}, {DNNL_ARG_DST, out.mem},
                                        {DNNL_ARG_ATTR_MULTIPLE_POST_OP(0) | DNNL_ARG_SRC_1, in.mem}};
                add_op(&net->fwd, cs[i]->fwd, 5, a);
            } else if (last) {
                // out already holds the downsample output, or gets a copy of the identity now
                if (!ds && reorder_op(net, &net->fwd, &in.md, in.mem, &in.md, out.mem, err, errlen)) goto done;
                fwd_conv_op(net, cs[i], src.mem, out.mem);
            } else {
                if (net->masks ? pooled_act(net, &plan, &cs[i]->dst_md, slots[1 + i], &t[i], err, errlen)
                               : new_act(net, &plan, &cs[i]->dst_md, &t[i], err, errlen)) goto done;
                fwd_conv_op(net, cs[i], src.mem, t[i].mem);
                if (net->masks && (mrc = add_mask(net, &t[i], err, errlen)) != 0) { rc = mrc; goto done; }
                src = t[i];
            }
        }
        if (ch != oh || cw != ow) { seterr(err, errlen, "block %d: unexpected output size", b); goto done; }
        if (net->masks && (mrc = add_mask(net, &out, err, errlen)) != 0) { rc = mrc; goto done; }
        for (int i = 0; i < nc - 1; i++) add_site(net, &t[i]);
        add_site(net, &out);
        int tap = tap_of_block(desc, b);
        if (tap >= 0 && add_tap_forward(net, tap, &out, err, errlen)) goto done;
        // Backward of this block (group b+1), scratch roles: g = 0, then alternate between 1 and 2.
        int gi = b + 1;
        // g (s0) += the tap's gradient (through s1, free at the start of a group)
        if (tap >= 0) STEP(gi, 3, NULL, out, 0, 0, 1, out.md, out.md, tap);
        // g (s0) *= out > 0
        STEP(gi, 0, NULL, out, 0, 0, 0, out.md, out.md);
        int sin = 0, sout = 1, dxs = -1;
        for (int i = nc - 1; i >= 0; i--) {
            const dnnl_memory_desc_t *md_in = i == nc - 1 ? &out.md : &t[i].md, *md_out = i > 0 ? &t[i - 1].md : &in.md;
            if (i == 0 && cs[0]->fused_add) {
                // dx = conv1_bwd(d) + (g or ds_bwd(g)) [* mask of in] in one op: ds_bwd(g) goes to
                // the free buffer first, and dx then over g (dead by then)
                int other = 0;
                if (ds) {
                    STEP(gi, 1, ds, out, 0, sout, 0, out.md, in.md);
                    other = sout;
                    sout = 0;
                }
                STEP(gi, 1, cs[0], in, sin, sout, other, *md_in, *md_out);
                dxs = sout;
                if (cs[0]->fused_mask) {
                    // the previous group's first mask (of in = its out) is done: drop it
                    for (int si = 0; si < nsteps; si++)
                        if (steps[si].group == gi - 1 && steps[si].kind == 0) { steps[si].kind = 6; break; }
                }
                break;
            }
            STEP(gi, 1, cs[i], i > 0 ? t[i - 1] : in, sin, sout, 0, *md_in, *md_out);
            if (i > 0 && !cs[i]->fused_mask) STEP(gi, 0, NULL, t[i - 1], sout, 0, 0, t[i - 1].md, t[i - 1].md);
            sin = sout;
            sout = sin == 1 ? 2 : 1;
        }
        if (dxs < 0) {
            // dx is in scratch `sin`; the identity path adds g (s0) or ds_bwd(g) (in a free buffer).
            dxs = sin;
            if (ds) {
                int tmp = dxs == 1 ? 2 : 1;   // free again: the chain only needs two buffers besides g
                STEP(gi, 1, ds, out, 0, tmp, 0, out.md, in.md);
                STEP(gi, 2, NULL, in, dxs, 0, tmp, in.md, in.md);
            } else {
                STEP(gi, 2, NULL, in, dxs, 0, 0, in.md, in.md);
            }
        }
        // Hand dx to the previous group as its g: copy scratch dxs -> scratch 0 is avoided by renaming:
        // record the block's result buffer; the previous group reads it (see below).
        STEP(gi, 5, NULL, in, dxs, 0, 0, in.md, in.md);
        cur = out;
        in_slot = slots[0];
        h = oh; w = ow;
    }

    // ---- head ----
    net->F = (int)cur.md.dims[1];
    net->fh = h; net->fw = w;
    {
        dnnl_dims_t fd = {N, net->F, h, w};
        dnnl_memory_desc_t f_md;
        if (dnnl_memory_desc_init_by_tag(&f_md, 4, fd, dnnl_f32, dnnl_nchw) != dnnl_success) goto done;
        net->feat_plain = net_alloc(net, dnnl_memory_desc_get_size(&f_md));
        net->dfeat_plain = net_alloc(net, dnnl_memory_desc_get_size(&f_md));
        net->pooled = net_alloc(net, sizeof(float) * (size_t)N * net->F);
        dnnl_memory_t fm = net_mem(net, &f_md, net->feat_plain);
        if (reorder_op(net, &net->fwd, &cur.md, cur.mem, &f_md, fm, err, errlen)) goto done;

        // scratch buffers, now that the largest activation is known
        for (int i = 0; i < 3; i++) {
            plan.scratch[i] = net_alloc(net, plan.max_bytes);
            net->scratch_bytes += plan.max_bytes;
            if (!plan.scratch[i]) { seterr(err, errlen, "out of memory (scratch)"); goto done; }
        }
        if (net->masks) {
            // forward pool: slots 0..2 share the backward scratch (forward activations are dead by
            // then; backward reads only the masks and the max-pool workspace), slot 3 is its own,
            // slot 4 the zeros (never written, so never resident)
            float *slot3 = net_alloc(net, plan.max_bytes), *zeros = net_alloc(net, plan.max_bytes);
            if (!slot3 || !zeros) { seterr(err, errlen, "out of memory (activation pool)"); goto done; }
            net->scratch_bytes += plan.max_bytes;
            net->bytes -= (plan.max_bytes + 4095) / 4096 * 4096;   // the zeros: address space only
            for (int i = 0; i < net->npool; i++) {
                int sl = net->pool_slots[i];
                void *ptr = sl < 3 ? (void *)plan.scratch[sl] : sl == 3 ? (void *)slot3 : (void *)zeros;
                if (dnnl_memory_set_data_handle(net->pool_mems[i], ptr) != dnnl_success) {
                    seterr(err, errlen, "activation pool handle"); goto done;
                }
            }
        }
        // Backward, in execution order. The buffer holding "g" of the group being processed:
        int g_buf = 0;
        dnnl_memory_t dfm = net_mem(net, &f_md, net->dfeat_plain);
        if (reorder_op(net, &net->bwd, &f_md, dfm, &cur.md, scratch_mem(net, &plan, 0, &cur.md), err, errlen)) goto done;
        // Scratch indices in steps are relative: logical 0 = g_buf, logical k>0 = the k-th other buffer.
        for (int gi = desc->num_blocks; gi >= 1; gi--) {
            int map[3];
            map[0] = g_buf;
            for (int k = 1, j = 0; k < 3; j++) if (j != g_buf) map[k++] = j;
            for (int si = 0; si < nsteps; si++) {
                bstep *p = &steps[si];
                if (p->group != gi) continue;
                switch (p->kind) {
                case 0:
                    if (relu_bwd_op(net, &net->bwd, &p->act, scratch_mem(net, &plan, map[p->s_in], &p->md_in), err, errlen)) goto done;
                    break;
                case 1:
                    bwd_conv_op(net, p->conv, scratch_mem(net, &plan, map[p->s_in], &p->md_in),
                                scratch_mem(net, &plan, map[p->s_out], &p->md_out),
                                p->conv->fused_add ? scratch_mem(net, &plan, map[p->s_other], &p->md_out) : NULL,
                                p->act.mask);
                    break;
                case 2:
                    if (add_op_binary(net, &net->bwd, &p->md_in, scratch_mem(net, &plan, map[p->s_in], &p->md_in),
                                      scratch_mem(net, &plan, map[p->s_other], &p->md_in), err, errlen)) goto done;
                    break;
                case 3:
                    if (add_tap_backward(net, p->tap, &p->md_in, scratch_mem(net, &plan, map[p->s_in], &p->md_in),
                                         scratch_mem(net, &plan, map[p->s_other], &p->md_in), err, errlen)) goto done;
                    break;
                case 5:
                    g_buf = map[p->s_in];
                    break;
                }
            }
        }
        // Stem backward: g_buf holds d(pool_out) (or d(stem out) without a max-pool).
        dnnl_memory_t ds_mem = scratch_mem(net, &plan, g_buf, &pool_out.md);
        int other = (g_buf + 1) % 3;
        dnnl_memory_t dstem = ds_mem;
        if (desc->stem_maxpool) {
            dstem = scratch_mem(net, &plan, other, &stem_out.md);
            dnnl_exec_arg_t a[3] = {{DNNL_ARG_DIFF_DST, ds_mem}, {DNNL_ARG_DIFF_SRC, dstem}, {DNNL_ARG_WORKSPACE, pool_ws}};
            add_op(&net->bwd, pool_bwd, 3, a);
            other = (other + 1) % 3;
        }
        if (relu_bwd_op(net, &net->bwd, &stem_out, dstem, err, errlen)) goto done;
        if (s2d == 0) {
            dnnl_memory_t t = scratch_mem(net, &plan, other, &stem_s2d.diff_src_md);
            bwd_conv_op(net, &stem_s2d, dstem, t, NULL, NULL);
            dnnl_memory_t zp = net_mem(net, &net->s2d_md, net->s2d_plain);
            if (reorder_op(net, &net->bwd, &stem_s2d.diff_src_md, t, &net->s2d_md, zp, err, errlen)) goto done;
        } else {
            // Only the plain stem backward needs dx_plain (the space-to-depth one writes s2d_plain).
            net->dx_plain = net_alloc(net, dnnl_memory_desc_get_size(&x_md));
            dnnl_memory_t dx_mem = net->dx_plain ? net_mem(net, &x_md, net->dx_plain) : NULL;
            if (!dx_mem) { seterr(err, errlen, "out of memory (input gradient)"); goto done; }
            if (dnnl_memory_desc_equal(&stem->diff_src_md, &x_md)) {
                bwd_conv_op(net, stem, dstem, dx_mem, NULL, NULL);
            } else {
                dnnl_memory_t t = scratch_mem(net, &plan, other, &stem->diff_src_md);
                bwd_conv_op(net, stem, dstem, t, NULL, NULL);
                if (reorder_op(net, &net->bwd, &stem->diff_src_md, t, &x_md, dx_mem, err, errlen)) goto done;
            }
        }
    }
    info_add(net, "precision: %s\n", net->dt == dnnl_bf16 ? "bfloat16 weights, activations and gradients (float32 accumulation)"
                                                              : "float32");
    info_add(net, "relu masks: %s\n", net->masks ? "u8 (activations in 4 rotating buffers)" : "activations kept");
    if (net->ntaps || net->tap_rep) {
        info_add(net, "taps:");
        for (int t = 0; t < net->ntaps; t++) info_add(net, " block%d", net->taps[t].block);
        info_add(net, "%s\n", net->tap_rep ? " representation" : "");
    }
    info_add(net, "memory: weights %.1f MB, kept activations %.1f MB, backward scratch %.1f MB, total %.1f MB\n",
             net->weight_bytes / 1048576.0, net->act_bytes / 1048576.0, net->scratch_bytes / 1048576.0,
             net->bytes / 1048576.0);
    rc = 0;
done:
    for (int i = 0; i < ci; i++) free_conv_pds(&convs[i]);
    free(convs);
    free(steps);
    return rc;
}

void rk_net_destroy(rk_net *net) {
    if (!net) return;
    for (int i = 0; i < net->nprims; i++) dnnl_primitive_destroy(net->prims[i]);
    for (int i = 0; i < net->nmems; i++) dnnl_memory_destroy(net->mems[i]);
    for (int i = 0; i < net->nbufs; i++) munmap(net->bufs[i], net->sizes[i]);
    free(net->prims); free(net->mems); free(net->bufs); free(net->sizes);
    free(net->pool_mems); free(net->pool_slots); free(net->sites); free(net->taps);
    free(net->fwd.items); free(net->bwd.items);
    free(net->mean); free(net->std); free(net->fc_w); free(net->fc_b);
    free(net->info);
    if (net->stream) dnnl_stream_destroy(net->stream);
    if (net->engine) dnnl_engine_destroy(net->engine);
    free(net);
}

rk_net *rk_net_create(const rk_net_desc *desc, char *err, size_t errlen) {
    rk_net *net = calloc(1, sizeof(rk_net));
    if (!net) { seterr(err, errlen, "out of memory"); return NULL; }
    net->act_tag = desc->layout == 1 ? dnnl_nhwc : dnnl_format_tag_any;
    net->dt = desc->bfloat16 ? dnnl_bf16 : dnnl_f32;
    net->N = desc->batch; net->C = desc->in_c; net->H = desc->in_h; net->W = desc->in_w; net->K = desc->num_classes;
    dnnl_status_t st = dnnl_engine_create(&net->engine, dnnl_cpu, 0);
    if (st == dnnl_success) st = dnnl_stream_create(&net->stream, net->engine, dnnl_stream_default_flags);
    if (st != dnnl_success) { seterr(err, errlen, "oneDNN engine: %s", dnnl_status2str(st)); rk_net_destroy(net); return NULL; }
    if (desc->num_tap_blocks < 0 || (desc->num_tap_blocks > 0 && !desc->tap_blocks)) {
        seterr(err, errlen, "taps: %d block indices", desc->num_tap_blocks); rk_net_destroy(net); return NULL;
    }
    for (int t = 0; t < desc->num_tap_blocks; t++) {
        int b = desc->tap_blocks[t];
        if (b < 0 || b >= desc->num_blocks || tap_of_block(desc, b) != t) {
            seterr(err, errlen, "tap %d: block %d is out of range (0..%d) or listed twice", t, b, desc->num_blocks - 1);
            rk_net_destroy(net); return NULL;
        }
    }
    net->ntaps = desc->num_tap_blocks;
    net->tap_rep = desc->tap_representation != 0;
    net->taps = calloc((size_t)net->ntaps + 1, sizeof *net->taps);
    if (!net->taps) { seterr(err, errlen, "out of memory"); rk_net_destroy(net); return NULL; }
    for (int t = 0; t < net->ntaps; t++) net->taps[t].block = desc->tap_blocks[t];
    net->mean = malloc(sizeof(float) * (size_t)net->C);
    net->std = malloc(sizeof(float) * (size_t)net->C);
    memcpy(net->mean, desc->mean, sizeof(float) * (size_t)net->C);
    memcpy(net->std, desc->std, sizeof(float) * (size_t)net->C);
    int rc = build(net, desc, err, errlen);
    if (rc == -2) {
        // Some activation layout has no jit kernel for the u8 ReLU mask: start again keeping f32.
        rk_net_destroy(net);
        rk_net_desc d2 = *desc;
        d2.relu_masks = 0;
        return rk_net_create(&d2, err, errlen);
    }
    if (rc) { rk_net_destroy(net); return NULL; }
    size_t fcn = (size_t)net->K * net->F;
    net->fc_w = malloc(sizeof(float) * fcn);
    net->fc_b = malloc(sizeof(float) * (size_t)net->K);
    memcpy(net->fc_w, desc->fc_weight, sizeof(float) * fcn);
    memcpy(net->fc_b, desc->fc_bias, sizeof(float) * (size_t)net->K);
    net->bytes += sizeof(float) * (fcn + (size_t)net->K);
    return net;
}

// Runs the ops of l; an op of tap t only if bufs[t] (the caller's buffer for it) is set.
static int run(rk_net *net, op_list *l, const void *const *bufs, char *err, size_t errlen) {
    for (int i = 0; i < l->count; i++) {
        op_t *o = &l->items[i];
        if (o->tap >= 0 && (!bufs || !bufs[o->tap])) continue;
        dnnl_status_t st = dnnl_primitive_execute(o->prim, net->stream, o->nargs, o->args);
        if (st != dnnl_success) { seterr(err, errlen, "op %d: %s", i, dnnl_status2str(st)); return -1; }
    }
    dnnl_status_t st = dnnl_stream_wait(net->stream);
    if (st != dnnl_success) { seterr(err, errlen, "stream: %s", dnnl_status2str(st)); return -1; }
    return 0;
}

// Points tap memory objects (out or grad) at the caller's buffers; NULL entries stay unset (skipped).
static int set_tap_handles(rk_net *net, const void *const *bufs, int grad, char *err, size_t errlen) {
    for (int t = 0; bufs && t < net->ntaps; t++) {
        if (!bufs[t]) continue;
        dnnl_memory_t m = grad ? net->taps[t].grad : net->taps[t].out;
        CHECK(dnnl_memory_set_data_handle(m, (void *)bufs[t]), "tap buffer");
    }
    return 0;
}

int rk_net_forward(rk_net *net, const float *x, float *logits, char *err, size_t errlen) {
    return rk_net_forward_taps(net, x, logits, NULL, err, errlen);
}

int rk_net_backward(rk_net *net, const float *dlogits, float *dx, char *err, size_t errlen) {
    return rk_net_backward_taps(net, dlogits, NULL, dx, err, errlen);
}

int rk_net_tap_count(const rk_net *net) { return net ? net->ntaps + net->tap_rep : 0; }

int rk_net_tap_dims(const rk_net *net, int tap, int *dims) {
    if (!net || tap < 0 || tap >= net->ntaps + net->tap_rep) return -1;
    if (tap == net->ntaps) { dims[0] = net->N; dims[1] = net->F; return 2; }
    for (int i = 0; i < 4; i++) dims[i] = (int)net->taps[tap].plain_md.dims[i];
    return 4;
}

// x[N,C,H,W] -> logits[N,K], tap_out[t] (NULL or entries NULL: not wanted)
int rk_net_forward_taps(rk_net *net, const float *x, float *logits, float *const *tap_out, char *err, size_t errlen) {
    if (set_tap_handles(net, (const void *const *)tap_out, 0, err, errlen)) return -1;
    const size_t hw = (size_t)net->H * net->W;
    for (int n = 0; n < net->N; n++)
        for (int c = 0; c < net->C; c++) {
            const float m = net->mean[c], inv = 1.0f / net->std[c];
            const float *xp = x + ((size_t)n * net->C + c) * hw;
            float *yp = net->x_plain + ((size_t)n * net->C + c) * hw;
            for (size_t i = 0; i < hw; i++) yp[i] = (xp[i] - m) * inv;
        }
    if (run(net, &net->fwd, (const void *const *)tap_out, err, errlen)) return -1;
    // feat [N,F,fh,fw] -> pooled [N,F] -> logits [N,K] = pooled fc_w^T + fc_b
    const size_t plane = (size_t)net->fh * net->fw;
    const float inv_plane = 1.0f / (float)plane;
    for (size_t nf = 0; nf < (size_t)net->N * net->F; nf++) {
        const float *p = net->feat_plain + nf * plane;
        float s = 0.0f;
        for (size_t i = 0; i < plane; i++) s += p[i];
        net->pooled[nf] = s * inv_plane;
    }
    // Copied now: backward reuses pooled for its gradient.
    if (net->tap_rep && tap_out && tap_out[net->ntaps])
        memcpy(tap_out[net->ntaps], net->pooled, sizeof(float) * (size_t)net->N * net->F);
    for (int n = 0; n < net->N; n++) memcpy(logits + (size_t)n * net->K, net->fc_b, sizeof(float) * (size_t)net->K);
    dnnl_status_t st = dnnl_sgemm('N', 'T', net->N, net->K, net->F, 1.0f, net->pooled, net->F, net->fc_w, net->F, 1.0f,
                                  logits, net->K);
    if (st != dnnl_success) { seterr(err, errlen, "fc: %s", dnnl_status2str(st)); return -1; }
    return 0;
}

// dlogits[N,K], tap_grad[t] (NULL or entries NULL: zero) -> dx[N,C,H,W]
int rk_net_backward_taps(rk_net *net, const float *dlogits, const float *const *tap_grad, float *dx, char *err,
                         size_t errlen) {
    if (set_tap_handles(net, (const void *const *)tap_grad, 1, err, errlen)) return -1;
    // dpooled [N,F] = dlogits fc_w; dfeat[n,f,:,:] = dpooled[n,f] / plane
    dnnl_status_t st = dnnl_sgemm('N', 'N', net->N, net->F, net->K, 1.0f, dlogits, net->K, net->fc_w, net->F, 0.0f,
                                  net->pooled, net->F);
    if (st != dnnl_success) { seterr(err, errlen, "fc backward: %s", dnnl_status2str(st)); return -1; }
    if (net->tap_rep && tap_grad && tap_grad[net->ntaps]) {
        // d(representation) joins dpooled before the broadcast over the plane
        const float *gr = tap_grad[net->ntaps];
        for (size_t nf = 0; nf < (size_t)net->N * net->F; nf++) net->pooled[nf] += gr[nf];
    }
    const size_t plane = (size_t)net->fh * net->fw;
    const float inv_plane = 1.0f / (float)plane;
    for (size_t nf = 0; nf < (size_t)net->N * net->F; nf++) {
        const float g = net->pooled[nf] * inv_plane;
        float *p = net->dfeat_plain + nf * plane;
        for (size_t i = 0; i < plane; i++) p[i] = g;
    }
    if (run(net, &net->bwd, (const void *const *)tap_grad, err, errlen)) return -1;
    const size_t hw = (size_t)net->H * net->W;
    if (net->s2d_plain) {
        // dx[n,c,h,w] = dz[n, c*4 + p*2 + q, i, j] / std[c] with h + 3 = 2i + p, w + 3 = 2j + q
        const int Sh = net->s2d_h, Sw = net->s2d_w, C4 = 4 * net->C;
        for (int n = 0; n < net->N; n++)
            for (int c = 0; c < net->C; c++) {
                const float inv = 1.0f / net->std[c];
                float *dp = dx + ((size_t)n * net->C + c) * hw;
                for (int h = 0; h < net->H; h++) {
                    const int i = (h + 3) >> 1, p = (h + 3) & 1;
                    const float *z0 = net->s2d_plain + (((size_t)n * C4 + c * 4 + p * 2) * Sh + i) * Sw;
                    const float *z1 = z0 + (size_t)Sh * Sw;   // q = 1
                    for (int w = 0; w < net->W; w++) {
                        const int j = (w + 3) >> 1;
                        dp[(size_t)h * net->W + w] = (((w + 3) & 1) ? z1[j] : z0[j]) * inv;
                    }
                }
            }
        return 0;
    }
    for (int n = 0; n < net->N; n++)
        for (int c = 0; c < net->C; c++) {
            const float inv = 1.0f / net->std[c];
            const float *gp = net->dx_plain + ((size_t)n * net->C + c) * hw;
            float *dp = dx + ((size_t)n * net->C + c) * hw;
            for (size_t i = 0; i < hw; i++) dp[i] = gp[i] * inv;
        }
    return 0;
}

size_t rk_net_bytes(const rk_net *net) { return net ? net->bytes : 0; }

const char *rk_net_impl_info(const rk_net *net) { return net && net->info ? net->info : ""; }

// Reorders memory `from` (layout from_md) into a plain NCHW buffer of type dt at `to`.
static int to_plain(rk_net *net, const dnnl_memory_desc_t *from_md, dnnl_memory_t from, dnnl_data_type_t dt, void *to,
                    char *err, size_t errlen) {
    dnnl_memory_desc_t plain;
    dnnl_memory_t dst = NULL;
    CHECK(dnnl_memory_desc_init_by_tag(&plain, 4, from_md->dims, dt, dnnl_nchw), "export");
    CHECK(dnnl_memory_create(&dst, &plain, net->engine, to), "export");
    dnnl_status_t st = reorder_now(net, from_md, from, &plain, dst);
    dnnl_memory_destroy(dst);
    if (st != dnnl_success) { seterr(err, errlen, "export: %s", dnnl_status2str(st)); return -1; }
    return 0;
}

int rk_net_relu_site_count(const rk_net *net) { return net ? net->nsites : 0; }

int rk_net_relu_decisions(rk_net *net, int site, int *dims, unsigned char *out, char *err, size_t errlen) {
    if (site < 0 || site >= net->nsites) { seterr(err, errlen, "no ReLU site %d (%d sites)", site, net->nsites); return -1; }
    const dnnl_memory_desc_t *md = &net->sites[site].md;
    for (int i = 0; i < 4; i++) dims[i] = (int)md->dims[i];
    if (!out) return 0;
    if (net->sites[site].mask) {
        dnnl_memory_desc_t mmd = *md;
        mmd.data_type = dnnl_u8;
        return to_plain(net, &mmd, net->sites[site].mask, dnnl_u8, out, err, errlen);
    }
    size_t n = (size_t)md->dims[0] * md->dims[1] * md->dims[2] * md->dims[3];
    float *tmp = malloc(sizeof(float) * n);
    if (!tmp) { seterr(err, errlen, "out of memory"); return -1; }
    int rc = to_plain(net, md, net->sites[site].act, dnnl_f32, tmp, err, errlen);
    for (size_t i = 0; rc == 0 && i < n; i++) out[i] = tmp[i] > 0.0f;
    free(tmp);
    return rc;
}

int rk_net_maxpool_choices(rk_net *net, int *dims, unsigned char *out, char *err, size_t errlen) {
    if (!net->pool_ws) { seterr(err, errlen, "this net has no max-pool"); return -1; }
    if (net->pool_ws_md.data_type != dnnl_u8 || net->pool_ws_md.ndims != 4) {
        seterr(err, errlen, "max-pool workspace is not u8 [N,C,OH,OW]"); return -1;
    }
    for (int i = 0; i < 4; i++) dims[i] = (int)net->pool_dst_md.dims[i];
    if (!out) return 0;
    return to_plain(net, &net->pool_ws_md, net->pool_ws, dnnl_u8, out, err, errlen);
}

int rk_cpu_isa(char *name, size_t len) {
    dnnl_cpu_isa_t isa = dnnl_get_effective_cpu_isa();   // honours ONEDNN_MAX_CPU_ISA / DNNL_MAX_CPU_ISA
    const char *n = NULL;
    switch (isa) {
    case dnnl_cpu_isa_all: n = "all"; break;
    case dnnl_cpu_isa_sse41: n = "sse41"; break;
    case dnnl_cpu_isa_avx: n = "avx"; break;
    case dnnl_cpu_isa_avx2: n = "avx2"; break;
    case dnnl_cpu_isa_avx512_mic: n = "avx512_mic"; break;
    case dnnl_cpu_isa_avx512_mic_4ops: n = "avx512_mic_4ops"; break;
    case dnnl_cpu_isa_avx512_core: n = "avx512_core"; break;
    case dnnl_cpu_isa_avx512_core_vnni: n = "avx512_core_vnni"; break;
    case dnnl_cpu_isa_avx512_core_bf16: n = "avx512_core_bf16"; break;
    case dnnl_cpu_isa_avx512_core_amx: n = "avx512_core_amx"; break;
    case dnnl_cpu_isa_avx2_vnni: n = "avx2_vnni"; break;
    default: break;
    }
    if (name && len) {
        if (n) snprintf(name, len, "%s", n);
        else snprintf(name, len, "isa 0x%x", (unsigned)isa);
    }
    // The ISA values are cumulative bit masks: a CPU with AMX also has every AVX-512 core bit.
    if (((unsigned)isa & (unsigned)dnnl_cpu_isa_avx512_core_amx) == (unsigned)dnnl_cpu_isa_avx512_core_amx) return 2;
    if (((unsigned)isa & (unsigned)dnnl_cpu_isa_avx512_core) == (unsigned)dnnl_cpu_isa_avx512_core) return 1;
    return 0;
}
