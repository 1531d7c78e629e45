"""Writes the Fashion-MNIST image folders of RobustSynth's second demo from the Debian package.

- data/{train,test}/<label>/<index>.png (committed): the first --per-class-train (200) and
  --per-class-test (50) images of each class, in file order, of the package's train and t10k
  files. <index> is the image's position in its IDX file (5 digits), <label> 0..9 (names in
  fashion_data.CLASSES and the models' JSON).
- --full DIR: all 70,000 images the same way (DIR/{train,test}/...), made on demand, not committed.
Pixels: the grey value replicated to R, G and B, 8-bit RGB PNG written by ../digits/pngio.py
(stdlib only), so the same engine and plugins read it as the digits. Byte-deterministic.
Run: python3 Examples/fashion/make_data.py [--full DIR]
"""
import argparse
import os
import shutil
import sys

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, "..", "digits"))
import fashion_data  # noqa: E402
import pngio  # noqa: E402


def write(out, part, x, y, per_class):
    counts = np.zeros(10, dtype=int)
    total = 0
    for i in range(len(y)):
        c = int(y[i])
        if per_class is not None and counts[c] >= per_class:
            continue
        counts[c] += 1
        folder = os.path.join(out, part, str(c))
        os.makedirs(folder, exist_ok=True)
        path = os.path.join(folder, f"{i:05d}.png")
        pngio.write_rgb(path, np.repeat(x[i][:, :, None], 3, axis=2))
        total += os.path.getsize(path)
    print(f"{part}: {counts.sum()} images, per class {counts.tolist()}, {total} bytes")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--per-class-train", type=int, default=200)
    ap.add_argument("--per-class-test", type=int, default=50)
    ap.add_argument("--full", metavar="DIR", help="write every image under DIR instead")
    args = ap.parse_args()
    out = args.full or os.path.join(HERE, "data")
    if os.path.isdir(os.path.join(out, "train")) or os.path.isdir(os.path.join(out, "test")):
        shutil.rmtree(os.path.join(out, "train"), ignore_errors=True)
        shutil.rmtree(os.path.join(out, "test"), ignore_errors=True)
    full = args.full is not None
    for part, name, per in (("train", "train", args.per_class_train), ("test", "t10k", args.per_class_test)):
        x, y = fashion_data.load(name)
        write(out, part, x, y, None if full else per)


if __name__ == "__main__":
    main()
