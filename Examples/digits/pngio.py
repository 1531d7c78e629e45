"""A tiny PNG writer/reader made from Python's standard library only (zlib + struct).

Writes 8-bit RGB (colour type 2), non-interlaced, filter type 0 (None) on every row,
zlib level 9. Output is byte-deterministic for a given pixel array. The reader handles
exactly what the writer produces plus the standard row filters (0-4), 8-bit grey/RGB/RGBA.
"""
import struct
import zlib


def _chunk(kind: bytes, data: bytes) -> bytes:
    return (struct.pack(">I", len(data)) + kind + data
            + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF))


def encode_rgb(pixels, width: int, height: int) -> bytes:
    """pixels: bytes-like of length height*width*3 (row-major, RGB interleaved, 0..255)."""
    pixels = bytes(pixels)
    if len(pixels) != width * height * 3:
        raise ValueError(f"expected {width * height * 3} bytes, got {len(pixels)}")
    stride = width * 3
    raw = b"".join(b"\x00" + pixels[y * stride:(y + 1) * stride] for y in range(height))
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", ihdr)
            + _chunk(b"IDAT", zlib.compress(raw, 9)) + _chunk(b"IEND", b""))


def write_rgb(path, array_hwc_uint8) -> None:
    """array_hwc_uint8: numpy uint8 array of shape (H, W, 3)."""
    h, w, c = array_hwc_uint8.shape
    assert c == 3 and array_hwc_uint8.dtype.name == "uint8"
    with open(path, "wb") as f:
        f.write(encode_rgb(array_hwc_uint8.tobytes(), w, h))


def read_rgb(path):
    """Returns (width, height, bytes) with RGB interleaved 8-bit pixels."""
    data = open(path, "rb").read()
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    pos, idat, w = 8, b"", None
    while pos < len(data):
        (n,) = struct.unpack(">I", data[pos:pos + 4])
        kind, body = data[pos + 4:pos + 8], data[pos + 8:pos + 8 + n]
        pos += 12 + n
        if kind == b"IHDR":
            w, h, depth, ctype, _, _, interlace = struct.unpack(">IIBBBBB", body)
            assert depth == 8 and interlace == 0 and ctype in (0, 2, 6)
        elif kind == b"IDAT":
            idat += body
        elif kind == b"IEND":
            break
    bpp = {0: 1, 2: 3, 6: 4}[ctype]
    raw = zlib.decompress(idat)
    stride = w * bpp
    out, prev = bytearray(), bytearray(stride)
    for y in range(h):
        ft = raw[y * (stride + 1)]
        line = bytearray(raw[y * (stride + 1) + 1:(y + 1) * (stride + 1)])
        for i in range(stride):
            a = line[i - bpp] if i >= bpp else 0
            b = prev[i]
            c = prev[i - bpp] if i >= bpp else 0
            if ft == 1:
                line[i] = (line[i] + a) & 255
            elif ft == 2:
                line[i] = (line[i] + b) & 255
            elif ft == 3:
                line[i] = (line[i] + (a + b) // 2) & 255
            elif ft == 4:
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                pr = a if pa <= pb and pa <= pc else (b if pb <= pc else c)
                line[i] = (line[i] + pr) & 255
        out += line
        prev = line
    if bpp == 1:
        out = bytes(v for v in out for _ in range(3))
    elif bpp == 4:
        out = bytes(v for j, v in enumerate(out) if j % 4 != 3)
    return w, h, bytes(out)
