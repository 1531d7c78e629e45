#!/usr/bin/env python3
"""Seed inputs and issue-11 reproducers for the libFuzzer targets in Fuzz/ (plain Python 3, no
third-party modules). Run from anywhere:

    python3 Fuzz/make_corpus.py [SEEDS_DIR]

Writes
  SEEDS_DIR/<target>/       seeds (default .build-fuzz/seeds): the repository's small fixtures
                            (checkpoints, PNGs, example specs) and small generated files (PNGs of
                            every colour type, baseline JPEGs, seed models). Fuzz/run.sh --minimise
                            merges them into Fuzz/corpus/<target>/ with -merge=1.
  Fuzz/reproducers/<target>/  inputs that once crashed or exhausted memory (issue 11), kept
                            whole (no merge may drop them) and replayed by Fuzz/run.sh every run.
Targets: FuzzCheckpoint FuzzPNG FuzzJPEG FuzzSeedModel FuzzSpec. Deterministic output.
"""
import glob
import json
import os
import struct
import sys
import zipfile
import zlib
import io

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SEEDS = os.path.abspath(sys.argv[1]) if len(sys.argv) > 1 else os.path.join(ROOT, ".build-fuzz", "seeds")
REPRO = os.path.join(ROOT, "Fuzz", "reproducers")
MAX_FIXTURE = 8 * 1024  # repository fixtures larger than this are left out of the seeds


def put(folder, name, data):
    os.makedirs(folder, exist_ok=True)
    with open(os.path.join(folder, name), "wb") as f:
        f.write(data)


def seed(target, name, data):
    put(os.path.join(SEEDS, target), name, data)


def repro(target, name, data):
    put(os.path.join(REPRO, target), name, data)


def copy_fixtures(target, pattern, exclude=()):
    for path in sorted(glob.glob(os.path.join(ROOT, pattern), recursive=True)):
        if os.path.basename(path) in exclude or os.path.getsize(path) > MAX_FIXTURE:
            continue
        rel = os.path.relpath(path, ROOT).replace(os.sep, "_")
        with open(path, "rb") as f:
            seed(target, rel, f.read())


# ---------------------------------------------------------------- checkpoints

def safetensors(header, data=b"\0" * 8):
    h = header.encode() if isinstance(header, str) else header
    return struct.pack("<Q", len(h)) + h + data


class P:
    """Just enough pickle protocol 2 for a state dict of torch._utils._rebuild_tensor_v2 calls."""

    @staticmethod
    def s(text):
        b = text.encode()
        return b"X" + struct.pack("<I", len(b)) + b

    @staticmethod
    def i(v):  # LONG1, 8 bytes: any int64
        return b"\x8a\x08" + struct.pack("<q", v)

    @staticmethod
    def t(items):
        return b"(" + b"".join(items) + b"t"

    @staticmethod
    def g(module, name):
        return b"c" + module.encode() + b"\n" + name.encode() + b"\n"

    @staticmethod
    def state_dict(tensors, storage_type="FloatStorage"):
        out = b"\x80\x02}("  # PROTO 2, EMPTY_DICT, MARK
        for name, storage, numel, offset, shape, strides in tensors:
            pid = P.t([P.s("storage"), P.g("torch", storage_type), P.s(storage), P.s("cpu"), P.i(numel)])
            args = (b"(" + pid + b"Q" + P.i(offset) + P.t([P.i(x) for x in shape])
                    + P.t([P.i(x) for x in strides]) + b"\x89}t")  # BINPERSID, ..., False, {}, TUPLE
            out += P.s(name) + P.g("torch._utils", "_rebuild_tensor_v2") + args + b"R"
        return out + b"u."  # SETITEMS, STOP


def torch_zip(pickle, storages):
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_STORED) as z:
        for name, data in [("archive/data.pkl", pickle), ("archive/byteorder", b"little")] + \
                [("archive/data/" + k, v) for k, v in sorted(storages.items())]:
            info = zipfile.ZipInfo(name, date_time=(1980, 1, 1, 0, 0, 0))
            z.writestr(info, data)
    return buf.getvalue()


def checkpoints():
    t = "FuzzCheckpoint"
    copy_fixtures(t, "Tests/Fixtures/checkpoints/*", exclude=("expected.json",))
    copy_fixtures(t, "Tests/Fixtures/resnet/*.pt")
    copy_fixtures(t, "Tests/Fixtures/resnet/*.pth")
    copy_fixtures(t, "Tests/Fixtures/resnet/*.safetensors")
    one = struct.pack("<f", 1.0)
    four = struct.pack("<4f", 1, 2, 3, 4)
    seed(t, "gen_zip_two_tensors.pt", torch_zip(P.state_dict([
        ("a", "0", 4, 0, [2, 2], [2, 1]), ("b", "0", 4, 1, [3], [1])]), {"0": four}))
    seed(t, "gen_zip_transposed.pt", torch_zip(P.state_dict([("w", "0", 4, 0, [2, 2], [1, 2])]), {"0": four}))
    seed(t, "gen_zip_half.pt", torch_zip(P.state_dict([("h", "0", 2, 0, [2], [1])], "HalfStorage"), {"0": b"\0<\0@"}))
    seed(t, "gen_safetensors_mixed.safetensors", safetensors(
        '{"__metadata__":{"format":"pt"},"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},'
        '"b":{"dtype":"F16","shape":[2,1],"data_offsets":[8,12]},"c":{"dtype":"BF16","shape":[],"data_offsets":[12,14]},'
        '"d":{"dtype":"I64","shape":[0],"data_offsets":[14,14]}}', b"\0" * 14))

    # Issue 11: each was a crash or an unbounded allocation before main fixed it.
    repro(t, "safetensors_negative_offsets.safetensors",
          safetensors('{"w":{"dtype":"F32","shape":[25],"data_offsets":[-100,0]}}'))
    repro(t, "safetensors_offsets_before_file.safetensors",
          safetensors('{"w":{"dtype":"F32","shape":[2],"data_offsets":[-4000000008,-4000000000]}}'))
    repro(t, "safetensors_offsets_int64_min.safetensors",
          safetensors('{"w":{"dtype":"F32","shape":[2],"data_offsets":[-9223372036854775808,0]}}'))
    repro(t, "safetensors_shape_2_62.safetensors",
          safetensors('{"w":{"dtype":"F32","shape":[4611686018427387904],"data_offsets":[0,8]}}'))
    repro(t, "safetensors_shape_overflow.safetensors",
          safetensors('{"w":{"dtype":"F32","shape":[4611686018427387904,4],"data_offsets":[0,8]}}'))
    # 8 KiB of DUP (10 MB once took 1.3 GB; the stack limit, 2^20 values, is tested in the suite).
    repro(t, "pickle_many_dup.pt", torch_zip(b"\x80\x02}" + b"2" * 8192 + b".", {}))
    repro(t, "pickle_many_dup_legacy.pt", b"\x80\x02]" + b"2" * 8192 + b".")
    repro(t, "pickle_many_memoize.pt", torch_zip(b"\x80\x04}" + b"\x94" * 8192 + b".", {}))
    # Expanded tensors (stride 0) over one element: a modest one loads, the huge ones are refused.
    repro(t, "zip_stride0_expanded_ok.pt", torch_zip(P.state_dict([("b", "0", 1, 0, [4, 4], [0, 0])]), {"0": one}))
    repro(t, "zip_stride0_expanded_2_40.pt", torch_zip(P.state_dict([("b", "0", 1, 0, [1 << 40], [0])]), {"0": one}))
    repro(t, "zip_stride0_expanded_2_62x8.pt", torch_zip(P.state_dict([("b", "0", 1, 0, [1 << 62, 8], [0, 0])]), {"0": one}))
    repro(t, "zip_stride0_many_tensors.pt", torch_zip(P.state_dict(
        [("t%d" % k, "0", 1, 0, [256, 256], [0, 0]) for k in range(257)]), {"0": one}))  # 257 x 65536 > 2^24
    repro(t, "zip_offset_2_62.pt", torch_zip(P.state_dict([("w", "0", 1, 1 << 62, [2], [1])]), {"0": one}))
    repro(t, "zip_stride_2_62.pt", torch_zip(P.state_dict([("w", "0", 1, 0, [3], [1 << 62])]), {"0": one}))
    repro(t, "zip_negative_offset.pt", torch_zip(P.state_dict([("w", "0", 1, -1, [1], [1])]), {"0": one}))


# ---------------------------------------------------------------- PNG

def png_chunk(kind, data):
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xffffffff)


def png(width, height, depth, colour, interlace=0, extra=(), raw_seed=1, filters=(0, 1, 2, 3, 4)):
    channels = {0: 1, 2: 3, 3: 1, 4: 2, 6: 4}[colour]
    bits = channels * depth
    x = raw_seed

    def rows(w, h):
        nonlocal x
        out = b""
        for r in range(h):
            n = (w * bits + 7) // 8
            line = bytearray()
            for _ in range(n):
                x = (x * 1103515245 + 12345) & 0x7fffffff
                line.append((x >> 16) & (0x03 if colour == 3 else 0xff))
            out += bytes([filters[r % len(filters)]]) + bytes(line)
        return out

    if interlace:
        raw = b""
        for x0, y0, dx, dy in [(0, 0, 8, 8), (4, 0, 8, 8), (0, 4, 4, 8), (2, 0, 4, 4), (0, 2, 2, 4), (1, 0, 2, 2), (0, 1, 1, 2)]:
            pw = (width - x0 + dx - 1) // dx if width > x0 else 0
            ph = (height - y0 + dy - 1) // dy if height > y0 else 0
            if pw and ph:
                raw += rows(pw, ph)
    else:
        raw = rows(width, height)
    out = b"\x89PNG\r\n\x1a\n" + png_chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, depth, colour, 0, 0, interlace))
    for kind, data in extra:
        out += png_chunk(kind, data)
    return out + png_chunk(b"IDAT", zlib.compress(raw, 9)) + png_chunk(b"IEND", b"")


def pngs():
    t = "FuzzPNG"
    copy_fixtures(t, "Examples/*/sketches/*.png")
    copy_fixtures(t, "Examples/*/masks/*.png")
    copy_fixtures(t, "Examples/digits/data/test/[0-9]/000*.png")
    copy_fixtures(t, "Tests/Fixtures/cli/*.png")
    plte = (b"PLTE", bytes(range(12)))
    seed(t, "gen_rgb8.png", png(3, 2, 8, 2))
    seed(t, "gen_rgba16_interlaced.png", png(9, 9, 16, 6, interlace=1))
    seed(t, "gen_grey1.png", png(7, 3, 1, 0))
    seed(t, "gen_grey_alpha8.png", png(2, 2, 8, 4, extra=[(b"gAMA", struct.pack(">I", 45455))]))
    seed(t, "gen_palette2_trns.png", png(5, 4, 2, 3, extra=[plte, (b"tRNS", b"\0\x80")]))
    seed(t, "gen_grey16_trns_text.png", png(3, 3, 16, 0, extra=[(b"tRNS", b"\0\x10"), (b"tEXt", b"Comment\0fuzz")]))
    seed(t, "gen_1x1.png", png(1, 1, 8, 2))
    # Issue 11: a tiny file declaring 40000 x 40000 pixels, refused before allocating.
    big = png(1, 1, 8, 2)
    ihdr = struct.pack(">IIBBBBB", 40000, 40000, 8, 2, 0, 0, 0)
    repro(t, "png_40000x40000_truncated.png",
          b"\x89PNG\r\n\x1a\n" + png_chunk(b"IHDR", ihdr) + big[33:60])
    # Found by FuzzPNG: a tEXt chunk declaring 0x5400000c bytes made libpng malloc 1.4 GB up front.
    text = struct.pack(">I", 0x5400000C) + b"tEXtComment\0" + b"x" * 16
    repro(t, "png_huge_text_chunk.png", big[:33] + text)


# ---------------------------------------------------------------- JPEG (a minimal baseline encoder)

DC_BITS = [0, 1, 5, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0, 0, 0]  # the standard luminance DC table
DC_VALS = list(range(12))
AC_BITS = [0, 2, 3] + [0] * 13  # EOB, (0,1), (0,2), (1,1), ZRL
AC_VALS = [0x00, 0x01, 0x02, 0x11, 0xF0]


def huff_codes(bits, vals):
    codes, code, k = {}, 0, 0
    for length in range(1, 17):
        for _ in range(bits[length - 1]):
            codes[vals[k]] = (code, length)
            code += 1
            k += 1
        code <<= 1
    return codes


DC_CODES, AC_CODES = huff_codes(DC_BITS, DC_VALS), huff_codes(AC_BITS, AC_VALS)


class Bits:
    def __init__(self):
        self.out, self.acc, self.n = bytearray(), 0, 0

    def put(self, value, length):
        for i in range(length - 1, -1, -1):
            self.acc = (self.acc << 1) | ((value >> i) & 1)
            self.n += 1
            if self.n == 8:
                self.out.append(self.acc)
                if self.acc == 0xFF:
                    self.out.append(0)
                self.acc, self.n = 0, 0

    def flush(self):
        while self.n:
            self.put(1, 1)


def jpeg(width, height, components=3, sampling=(1, 1), restart=0, progressive=False, seed_value=7):
    """Baseline JPEG: DC plus at most one small AC coefficient per block; deterministic content."""
    hmax, vmax = sampling
    comps = [(1, hmax, vmax)] + [(c + 1, 1, 1) for c in range(1, components)]
    mcu_w, mcu_h = 8 * hmax, 8 * vmax
    mcus_x, mcus_y = (width + mcu_w - 1) // mcu_w, (height + mcu_h - 1) // mcu_h
    bits, pred, x, mcu_index, rst = Bits(), [0] * components, seed_value, 0, 0
    for _ in range(mcus_y * mcus_x):
        if restart and mcu_index and mcu_index % restart == 0:
            bits.flush()
            bits.out += bytes([0xFF, 0xD0 + rst])
            rst, pred = (rst + 1) % 8, [0] * components
        mcu_index += 1
        for ci, (_, h, v) in enumerate(comps):
            for _ in range(h * v):
                x = (x * 1103515245 + 12345) & 0x7fffffff
                dc = ((x >> 8) % 64) - 32
                diff, pred[ci] = dc - pred[ci], dc
                s = abs(diff).bit_length()
                bits.put(*DC_CODES[s])
                if s:
                    bits.put(diff if diff >= 0 else diff + (1 << s) - 1, s)
                if x & 0x100:
                    bits.put(*AC_CODES[0x01])
                    bits.put(1 if x & 0x200 else 0, 1)
                bits.put(*AC_CODES[0x00])  # EOB
    bits.flush()

    def seg(marker, payload):
        return bytes([0xFF, marker]) + struct.pack(">H", len(payload) + 2) + payload

    out = b"\xFF\xD8" + seg(0xE0, b"JFIF\0\x01\x01\0\0\x01\0\x01\0\0")
    out += seg(0xDB, b"\x00" + bytes(range(1, 65)))
    sof = struct.pack(">BHHB", 8, height, width, components)
    for cid, h, v in comps:
        sof += bytes([cid, (h << 4) | v, 0])
    out += seg(0xC0, sof)
    out += seg(0xC4, b"\x00" + bytes(DC_BITS) + bytes(DC_VALS) + b"\x10" + bytes(AC_BITS) + bytes(AC_VALS))
    if restart:
        out += seg(0xDD, struct.pack(">H", restart))
    sos = bytes([components]) + b"".join(bytes([cid, 0x00]) for cid, _, _ in comps) + b"\x00\x3f\x00"
    out += seg(0xDA, sos) + bytes(bits.out) + b"\xFF\xD9"
    return out


def jpegs():
    t = "FuzzJPEG"
    copy_fixtures(t, "Examples/**/*.jpg")
    copy_fixtures(t, "Tests/Fixtures/**/*.jpg")
    seed(t, "gen_rgb444_8x8.jpg", jpeg(8, 8))
    seed(t, "gen_rgb420_17x13.jpg", jpeg(17, 13, sampling=(2, 2)))
    seed(t, "gen_rgb422_restart.jpg", jpeg(24, 8, sampling=(2, 1), restart=1))
    seed(t, "gen_grey_5x9.jpg", jpeg(5, 9, components=1))
    # Issue 11: a truncated JPEG whose header claims 40000 x 40000 (1.6 gigapixels).
    small = jpeg(8, 8)
    sof = small.index(b"\xFF\xC0")
    claim = small[:sof + 5] + struct.pack(">HH", 40000, 40000) + small[sof + 9:]
    repro(t, "jpeg_40000x40000_truncated.jpg", claim[:claim.index(b"\xFF\xDA") + 14])
    # Under the pixel limit but truncated: libjpeg-turbo pads the missing rows.
    claim = small[:sof + 5] + struct.pack(">HH", 640, 480) + small[sof + 9:]
    repro(t, "jpeg_640x480_truncated.jpg", claim[:claim.index(b"\xFF\xDA") + 20])


# ---------------------------------------------------------------- seed models

def seed_model(resolution, preprocess, dataset, classes, version=1, channels=3):
    def s(text):
        b = text.encode()
        return struct.pack("<I", len(b)) + b

    d = 3 * resolution * resolution
    out = b"RSYNSEED" + struct.pack("<IIIII", version, resolution, channels, preprocess, len(classes)) + s(dataset)
    for label, name, n in classes:
        out += struct.pack("<i", label) + s(name) + struct.pack("<I", n)
        out += struct.pack("<%df" % d, *[0.5] * d) + struct.pack("<%df" % d, *[0.25] * d)
        out += struct.pack("<%df" % (n * d), *[((k % 7) - 3) / 10 for k in range(n * d)])
    return out + b"RSYNEND\0"


def seed_models():
    t = "FuzzSeedModel"
    seed(t, "gen_r1_two_classes.rsseed", seed_model(1, 0, "data/train", [(0, "zero", 2), (7, "seven", 3)]))
    seed(t, "gen_r2_centre_square.rsseed", seed_model(2, 1, "/tmp/x", [(-1, "", 2)]))
    seed(t, "gen_no_classes.rsseed", seed_model(4, 0, "", []))
    head = b"RSYNSEED" + struct.pack("<IIIII", 1, 4096, 3, 0, 0xFFFFFFFF) + struct.pack("<I", 0)
    repro(t, "seed_4096_resolution_4g_classes.rsseed", head + struct.pack("<iII", 0, 0, 0xFFFFFFFF))
    repro(t, "seed_huge_string.rsseed", b"RSYNSEED" + struct.pack("<IIIII", 1, 1, 3, 0, 1) + struct.pack("<I", 0xFFFFFFFF))


# ---------------------------------------------------------------- specs

def specs():
    t = "FuzzSpec"
    copy_fixtures(t, "Examples/**/*.yaml")
    seed(t, "gen_anchors_and_flow.yaml", b"version: 1\nclassifier: &c {plugin: x, params: {a: [1, 2.5, ~, true]}}\n"
                                         b"seed: *c\ntask: {plugin: t, params: {k: !!str 3}}\n")
    seed(t, "gen_not_a_mapping.yaml", b"- a\n- b: [c, {d: e}]\n")
    # Deep nesting and aliases that expand (a "billion laughs" in YAML).
    repro(t, "yaml_deep_nesting.yaml", b"version: 1\ntask: " + b"[" * 2000 + b"]" * 2000 + b"\n")
    laughs = b"a: &a [x, x, x, x, x, x, x, x, x]\n"
    for k in range(1, 9):
        laughs += b"%c: &%c [" % (97 + k, 97 + k) + b", ".join([b"*%c" % (96 + k)] * 9) + b"]\n"
    repro(t, "yaml_billion_laughs.yaml", laughs + b"version: *i\n")


if __name__ == "__main__":
    checkpoints()
    pngs()
    jpegs()
    seed_models()
    specs()
    for base in (SEEDS, REPRO):
        for target in sorted(os.listdir(base)):
            files = os.listdir(os.path.join(base, target))
            size = sum(os.path.getsize(os.path.join(base, target, f)) for f in files)
            print("%s/%s: %d files, %d bytes" % (os.path.relpath(base, ROOT), target, len(files), size))
