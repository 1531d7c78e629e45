#!/usr/bin/env python3
"""What bfloat16 does on a trained model: the shipped robust digit model, float32 against
bfloat16, in PGD outcomes and in input gradients. Python's standard library only.

Run from the repository root after `swift build -c release`:
    python3 Tests/Fixtures/compare_bfloat16_digits.py

Prints, for each precision, the judge agreement and wall time of generation from uniform noise
(Examples/quickstart.yaml with 20 per class: 200 samples) and of Examples/digits/translation-robust.yaml
(200 samples); then, over the first test image of each digit with target (digit + 3) mod 10, the
relative L2 distance and cosine between the bfloat16 and float32 saliency gradients.
"""
import math, os, re, struct, subprocess, sys, tempfile, time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
RSYNTH = os.path.join(ROOT, ".build", "release", "rsynth")
DIGITS = os.path.join(ROOT, "Examples", "digits")
MODEL = os.path.join(DIGITS, "models", "digits-robust.pt")


def spec_text(path, precision):
    text = open(path).read()
    text = text.replace("digits-robust.pt", f"digits-robust.pt, precision: {precision}")
    text = text.replace("per_class: 8", "per_class: 20").replace("batch_size: 40", "batch_size: 50")
    # Relative paths are relative to the spec's folder; the copy lives elsewhere.
    folder = os.path.dirname(path)
    return re.sub(r"(?<=: )(models|data|digits)/", lambda m: os.path.join(folder, m.group(0)), text)


def run(spec, precision, d):
    copy = os.path.join(d, f"{os.path.basename(spec)}.{precision}.yaml")
    open(copy, "w").write(spec_text(spec, precision))
    t0 = time.time()
    out = subprocess.run([RSYNTH, "run", copy, "--out", os.path.join(d, f"run-{os.path.basename(spec)}-{precision}"), "--quiet"],
                         capture_output=True, text=True, env={**os.environ, "RSYNTH_CACHE_DIR": d})
    if out.returncode != 0:
        sys.exit(f"rsynth run {copy}: {out.stderr}")
    judge = next(l for l in out.stdout.splitlines() if l.startswith("judge:"))
    return judge.split(" recognised")[0][len("judge: "):], time.time() - t0


def read_npy(path):
    data = open(path, "rb").read()
    header_len = struct.unpack("<H", data[8:10])[0]
    body = data[10 + header_len:]
    return struct.unpack(f"<{len(body) // 4}f", body)


def main():
    d = tempfile.mkdtemp()
    print("judge agreement (200 samples) and wall time, float32 -> bfloat16")
    for spec in (os.path.join(ROOT, "Examples", "quickstart.yaml"), os.path.join(DIGITS, "translation-robust.yaml")):
        rows = [run(spec, p, d) for p in ("float32", "bfloat16")]
        print(f"  {os.path.basename(spec):28s} {rows[0][0]} ({rows[0][1]:.2f} s) -> {rows[1][0]} ({rows[1][1]:.2f} s)")
    rel, cos = [], []
    for digit in range(10):
        folder = os.path.join(DIGITS, "data", "test", str(digit))
        image = os.path.join(folder, sorted(os.listdir(folder))[0])
        g = {}
        for p in ("float32", "bfloat16"):
            npy = os.path.join(d, f"saliency-{digit}-{p}.npy")
            subprocess.run([RSYNTH, "saliency", "--classifier", "digits-resnet", "--weights", MODEL, "--with",
                            f"precision={p}", "--target", str((digit + 3) % 10), "--out", npy, image],
                           capture_output=True, text=True, check=True)
            g[p] = read_npy(npy)
        a, b = g["float32"], g["bfloat16"]
        na = math.sqrt(sum(x * x for x in a)); nb = math.sqrt(sum(x * x for x in b))
        rel.append(math.sqrt(sum((x - y) ** 2 for x, y in zip(a, b))) / na)
        cos.append(sum(x * y for x, y in zip(a, b)) / (na * nb))
    rel.sort()
    print(f"saliency, bfloat16 against float32 over 10 digits: relative L2 median {(rel[4] + rel[5]) / 2:.3f}, "
          f"max {rel[-1]:.3f}; cosine min {min(cos):.4f}")


if __name__ == "__main__":
    sys.exit(main())
