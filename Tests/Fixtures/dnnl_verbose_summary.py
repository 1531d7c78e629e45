#!/usr/bin/env python3
"""Where the engine's time goes, per primitive: sums a DNNL_VERBOSE=1 log by kind, implementation,
propagation and (for convolutions) shape, with each convolution's GFLOPS (2 x MACs / time).
    DNNL_VERBOSE=1 .build/release/rsynth bench --batch 8 --steps 4 > /tmp/v.log
    python3 Tests/Fixtures/dnnl_verbose_summary.py /tmp/v.log
The log includes the warm-up step and the weight reorders made once at build time.
Compare GFLOPS with the machine's FMA peak (Tests/Fixtures/fma_peak.c)."""
import collections, re, sys

time, flops, count = collections.defaultdict(float), collections.defaultdict(float), collections.Counter()
for line in open(sys.argv[1]):
    f = line.strip().split(",")
    if len(f) < 6 or f[1] != "exec":   # dnnl_verbose / onednn_verbose, exec lines only
        continue
    kind, impl, prop, ms, desc = f[3], f[4], f[5], float(f[-1]), f[-2]
    key, fl = (kind, impl, prop), 0.0
    m = re.match(r"mb(\d+)(?:g(\d+))?_ic(\d+)oc(\d+)_ih\d+oh(\d+)kh(\d+)sh(\d+)", desc) if kind == "convolution" else None
    if m:
        mb, g, ic, oc, oh, kh, sh = (int(x) if x else 1 for x in m.groups())
        ow, kw = (int(x) for x in re.search(r"ow(\d+)kw(\d+)", desc).groups())
        fl = 2.0 * mb * (ic // g) * oc * oh * ow * kh * kw
        key += (f"k{kh}s{sh} {ic}->{oc} @{oh}",)
    time[key] += ms; flops[key] += fl; count[key] += 1
total = sum(time.values())
print(f"total {total:.1f} ms")
for k, ms in sorted(time.items(), key=lambda kv: -kv[1]):
    gf = f"{flops[k] / ms / 1e6:6.0f} GFLOPS" if flops[k] else " " * 13
    print(f"{100 * ms / total:5.1f}% {ms:8.1f} ms n={count[k]:4d} {gf}  {' '.join(k)}")
