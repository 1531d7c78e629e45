#!/usr/bin/env python3
"""The line drawings and masks the sketch-to-image and paint-with-features examples use.

Run from the repository root (plain Python, no packages):  python3 Examples/drawings/make_drawings.py
Writes Examples/digits/sketches/*.png and masks/*.png (white strokes on black, as the digit data
set), the same for Examples/fashion/, and Examples/imagenet/sketches/*.png and masks/*.png (black lines on white, as a pencil
drawing), each a few hundred bytes.
"""
import math, os, struct, zlib

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def write_png(path, width, height, grey):
    """grey: rows of 0..255 values; written as 8-bit RGB."""
    raw = b"".join(b"\x00" + bytes(v for g in row for v in (g, g, g)) for row in grey)
    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)
    png = b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))
    png += chunk(b"IDAT", zlib.compress(raw, 9)) + chunk(b"IEND", b"")
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "wb") as f:
        f.write(png)


def canvas(size, ink, paper, strokes, width):
    """Polylines (lists of (x, y) in [0, 1]) drawn with round pens of `width` (fraction of size)."""
    img = [[paper] * size for _ in range(size)]
    r = width * size / 2
    for line in strokes:
        for (x0, y0), (x1, y1) in zip(line, line[1:]):
            steps = int(max(abs(x1 - x0), abs(y1 - y0)) * size * 4) + 1
            for s in range(steps + 1):
                cx, cy = (x0 + (x1 - x0) * s / steps) * size, (y0 + (y1 - y0) * s / steps) * size
                for y in range(max(0, int(cy - r - 1)), min(size, int(cy + r + 2))):
                    for x in range(max(0, int(cx - r - 1)), min(size, int(cx + r + 2))):
                        if (x + 0.5 - cx) ** 2 + (y + 0.5 - cy) ** 2 <= r * r:
                            img[y][x] = ink
    return img


def circle(cx, cy, rad, n=48):
    return [(cx + rad * math.cos(2 * math.pi * k / n), cy + rad * math.sin(2 * math.pi * k / n)) for k in range(n + 1)]


DIGIT_SKETCHES = {
    "seven": [[(0.25, 0.22), (0.75, 0.22), (0.45, 0.8)]],
    "four": [[(0.6, 0.8), (0.6, 0.2), (0.25, 0.6), (0.75, 0.6)]],
    "zero": [circle(0.5, 0.5, 0.28)],
}
FASHION_SKETCHES = {
    # outlines in white on black, as Fashion-MNIST's pictures: two legs, for "Trouser"
    "trouser": [[(0.5, 0.35), (0.4, 0.9), (0.3, 0.9), (0.33, 0.1), (0.67, 0.1), (0.7, 0.9), (0.6, 0.9), (0.5, 0.35)]],
    # a box with a handle, for "Bag"
    "bag": [[(0.15, 0.4), (0.85, 0.4), (0.85, 0.85), (0.15, 0.85), (0.15, 0.4)],
            [(0.35, 0.4), (0.38, 0.18), (0.62, 0.18), (0.65, 0.4)]],
    # a T with sleeves, for "T-shirt/top"
    "t-shirt": [[(0.38, 0.12), (0.12, 0.25), (0.2, 0.45), (0.3, 0.4), (0.3, 0.9), (0.7, 0.9), (0.7, 0.4),
                 (0.8, 0.45), (0.88, 0.25), (0.62, 0.12), (0.5, 0.2), (0.38, 0.12)]],
}
IMAGENET_SKETCHES = {
    # a house with a steeple and a door, for "church"
    "church": [[(0.2, 0.85), (0.2, 0.45), (0.5, 0.2), (0.8, 0.45), (0.8, 0.85), (0.2, 0.85)],
               [(0.5, 0.2), (0.5, 0.05)], [(0.44, 0.1), (0.56, 0.1)],
               [(0.43, 0.85), (0.43, 0.65), (0.57, 0.65), (0.57, 0.85)]],
    # a circle with a few dimples, for "golf ball"
    "golf-ball": [circle(0.5, 0.5, 0.32)] + [circle(0.4 + 0.1 * (k % 3), 0.4 + 0.1 * (k // 3), 0.02, 12) for k in range(9)],
}

if __name__ == "__main__":
    for name, strokes in DIGIT_SKETCHES.items():
        write_png(f"{ROOT}/Examples/digits/sketches/{name}.png", 32, 32, canvas(32, 255, 0, strokes, 0.12))
    for name, strokes in FASHION_SKETCHES.items():
        write_png(f"{ROOT}/Examples/fashion/sketches/{name}.png", 28, 28, canvas(28, 255, 0, strokes, 0.08))
    for name, strokes in IMAGENET_SKETCHES.items():
        write_png(f"{ROOT}/Examples/imagenet/sketches/{name}.png", 224, 224, canvas(224, 0, 255, strokes, 0.02))
    # paint-with-features masks: the top half (digits, 16x16) and a centred square (ImageNet, 224x224)
    write_png(f"{ROOT}/Examples/digits/masks/top-half.png", 16, 16,
              [[255 if y < 8 else 0 for x in range(16)] for y in range(16)])
    write_png(f"{ROOT}/Examples/fashion/masks/top-half.png", 28, 28,
              [[255 if y < 14 else 0 for x in range(28)] for y in range(28)])
    write_png(f"{ROOT}/Examples/imagenet/masks/centre.png", 224, 224,
              [[255 if 56 <= x < 168 and 56 <= y < 168 else 0 for x in range(224)] for y in range(224)])
