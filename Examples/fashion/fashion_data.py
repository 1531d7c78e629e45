"""Fashion-MNIST from Debian's `dataset-fashion-mnist` package (the original IDX files).

Zalando Research, "Fashion-MNIST: a Novel Image Dataset for Benchmarking Machine Learning
Algorithms" (H. Xiao, K. Rasul, R. Vollgraf, 2017), MIT licence. 70,000 28x28 grey images of ten
kinds of clothing and shoes; 60,000 train, 10,000 test. No download: `apt-get install
dataset-fashion-mnist` puts the four .gz files under /usr/share/datasets/fashion-mnist/.
"""
import gzip
import os
import struct

import numpy as np

PACKAGE = os.environ.get("FASHION_MNIST_DIR", "/usr/share/datasets/fashion-mnist")
# The dataset's own label names (its README), index = label. Folder names use "_" for spaces
# and "/"; the demo's folders are the indices, the model's JSON carries these names.
CLASSES = ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
           "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"]


def _read(name, magic):
    path = os.path.join(PACKAGE, name)
    if not os.path.exists(path):
        raise SystemExit(f"{path} is missing: apt-get install dataset-fashion-mnist "
                         "(or set FASHION_MNIST_DIR to a folder with the four IDX .gz files)")
    with gzip.open(path, "rb") as f:
        data = f.read()
    got, = struct.unpack(">I", data[:4])
    if got != magic:
        raise SystemExit(f"{path}: IDX magic {got:#x}, expected {magic:#x}")
    return data


def load(part):
    """part 'train' or 't10k' -> (images uint8 [N,28,28], labels int64 [N]) in file order."""
    img = _read(f"{part}-images-idx3-ubyte.gz", 0x803)
    n, h, w = struct.unpack(">III", img[4:16])
    x = np.frombuffer(img, dtype=np.uint8, offset=16).reshape(n, h, w)
    lab = _read(f"{part}-labels-idx1-ubyte.gz", 0x801)
    m, = struct.unpack(">I", lab[4:8])
    y = np.frombuffer(lab, dtype=np.uint8, offset=8).astype(np.int64)
    assert (n, h, w) == (m, 28, 28), (n, h, w, m)
    return x, y
