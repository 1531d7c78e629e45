"""Builds the digits image folder shipped with RobustSynth's demo.

Source: scikit-learn's load_digits() (a copy of the UCI "Optical Recognition of Handwritten
Digits" test set: 1,797 8x8 images, values 0..16, 10 classes; CC BY 4.0, Alpaydin & Kaynak).

- Split: stratified 80/20, sklearn.model_selection.train_test_split(random_state=0).
- Up-sampling 8x8 -> 16x16: NEAREST neighbour (each pixel becomes a 2x2 block). Chosen because
  it is lossless and exact (every 16x16 image is exactly its 8x8 original), it is trivially
  bit-reproducible in any language (no interpolation rounding for the Swift port to match), and
  the multivariate-normal seeds fitted at 8x8 are up-sampled the same way, so seeds and data live
  in the same space.
- Values: round(v * 255 / 16) as 8-bit grey, replicated to R, G and B.
- Files: data/{train,test}/<digit>/<id>.png, id = the row index in load_digits() (4 digits),
  8-bit RGB PNG written by pngio.py (stdlib only). Output is byte-deterministic.

Run: python Examples/digits/make_data.py   (from anywhere)
"""
import os
import shutil
import sys

import numpy as np
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import pngio  # noqa: E402


def split():
    """Returns (images8 uint8 0..16 [N,8,8], labels [N], train_idx, test_idx), deterministic."""
    d = load_digits()
    images = d.images.astype(np.uint8)
    labels = d.target.astype(np.int64)
    idx = np.arange(len(labels))
    tr, te = train_test_split(idx, test_size=0.2, random_state=0, stratify=labels)
    return images, labels, np.sort(tr), np.sort(te)


def to16_rgb(img8):
    """uint8 0..16 [8,8] -> uint8 0..255 [16,16,3], nearest up-sampling."""
    v = np.floor(img8.astype(np.float64) * 255.0 / 16.0 + 0.5).astype(np.uint8)
    v = v.repeat(2, axis=0).repeat(2, axis=1)
    return np.repeat(v[:, :, None], 3, axis=2)


def main():
    out = os.path.join(HERE, "data")
    if os.path.isdir(out):
        shutil.rmtree(out)
    images, labels, tr, te = split()
    total = 0
    for part, ids in (("train", tr), ("test", te)):
        for i in ids:
            folder = os.path.join(out, part, str(labels[i]))
            os.makedirs(folder, exist_ok=True)
            path = os.path.join(folder, f"{i:04d}.png")
            pngio.write_rgb(path, to16_rgb(images[i]))
            total += os.path.getsize(path)
        print(f"{part}: {len(ids)} images, per class {np.bincount(labels[ids]).tolist()}")
    print(f"wrote {len(tr) + len(te)} PNGs, {total} bytes, under {out}")


if __name__ == "__main__":
    main()
