"""Shared pieces of the digits demo: data loading, the small ResNet, L2 PGD, checkpoint I/O.

The network uses exactly torchvision's ResNet key names (conv1, bn1, layer{1,2,3}.0.*, fc) so the
Swift loader reads it like a torchvision checkpoint: a 3x3 stride-1 stem without max-pool
(CIFAR-style), one BasicBlock per stage, global average pool, fc. Input normalisation
(x - mean) / std lives in a wrapper (InputNormalize), as in MadryLab's robustness library.
"""
import io
import os
import pickle
import struct
import sys
import zipfile
import zlib
from collections import OrderedDict

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import pngio  # noqa: E402

DATA = os.path.join(HERE, "data")
MODELS = os.path.join(HERE, "models")
NUM_CLASSES = 10


# ----------------------------------------------------------------------------------------- data
def load_split(part):
    """Reads data/<part>/<digit>/<id>.png -> (x float32 [N,3,16,16] in [0,1], y int64 [N], ids).
    Sorted by (digit, id), so the order is deterministic."""
    xs, ys, ids = [], [], []
    root = os.path.join(DATA, part)
    for digit in range(NUM_CLASSES):
        folder = os.path.join(root, str(digit))
        for name in sorted(os.listdir(folder)):
            w, h, b = pngio.read_rgb(os.path.join(folder, name))
            a = np.frombuffer(b, dtype=np.uint8).reshape(h, w, 3).transpose(2, 0, 1)
            xs.append(a)
            ys.append(digit)
            ids.append(int(name.split(".")[0]))
    x = torch.from_numpy(np.stack(xs).astype(np.float32) / 255.0)
    return x, torch.tensor(ys, dtype=torch.int64), ids


# ---------------------------------------------------------------------------------------- model
def conv3x3(cin, cout, stride=1):
    return nn.Conv2d(cin, cout, 3, stride=stride, padding=1, bias=False)


class BasicBlock(nn.Module):
    """torchvision.models.resnet.BasicBlock, same attribute names."""

    def __init__(self, cin, cout, stride):
        super().__init__()
        self.conv1 = conv3x3(cin, cout, stride)
        self.bn1 = nn.BatchNorm2d(cout)
        self.relu = nn.ReLU(inplace=True)
        self.conv2 = conv3x3(cout, cout)
        self.bn2 = nn.BatchNorm2d(cout)
        self.downsample = None
        if stride != 1 or cin != cout:
            self.downsample = nn.Sequential(nn.Conv2d(cin, cout, 1, stride=stride, bias=False),
                                            nn.BatchNorm2d(cout))

    def forward(self, x):
        identity = x if self.downsample is None else self.downsample(x)
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return self.relu(out + identity)


class DigitsResNet(nn.Module):
    """conv1 3x3/1 -> bn1 -> relu -> layer1 (w0,/1) -> layer2 (w1,/2) -> layer3 (w2,/2)
    -> adaptive avg pool 1x1 -> flatten -> fc. Registration order = torchvision's key order."""

    def __init__(self, widths=(16, 32, 64), num_classes=NUM_CLASSES):
        super().__init__()
        w0, w1, w2 = widths
        self.conv1 = conv3x3(3, w0)
        self.bn1 = nn.BatchNorm2d(w0)
        self.relu = nn.ReLU(inplace=True)
        self.layer1 = nn.Sequential(BasicBlock(w0, w0, 1))
        self.layer2 = nn.Sequential(BasicBlock(w0, w1, 2))
        self.layer3 = nn.Sequential(BasicBlock(w1, w2, 2))
        self.avgpool = nn.AdaptiveAvgPool2d((1, 1))
        self.fc = nn.Linear(w2, num_classes)

    def forward(self, x):
        x = self.relu(self.bn1(self.conv1(x)))
        x = self.layer3(self.layer2(self.layer1(x)))
        return self.fc(torch.flatten(self.avgpool(x), 1))


class InputNormalize(nn.Module):
    """robustness.helpers.InputNormalize: clamp to [0,1], then (x - mean) / std."""

    def __init__(self, mean, std):
        super().__init__()
        self.register_buffer("new_mean", torch.as_tensor(mean, dtype=torch.float32).view(3, 1, 1).clone())
        self.register_buffer("new_std", torch.as_tensor(std, dtype=torch.float32).view(3, 1, 1).clone())

    def forward(self, x):
        return (torch.clamp(x, 0, 1) - self.new_mean) / self.new_std


class Attacker(nn.Module):
    """Only the attributes of robustness.attacker.Attacker that end up in the state dict."""

    def __init__(self, model, mean, std):
        super().__init__()
        self.normalize = InputNormalize(mean, std)
        self.model = model


class AttackerModel(nn.Module):
    """robustness.attacker.AttackerModel layout: normalizer, model, attacker.{normalize,model}.
    The classifier is shared by model and attacker.model (as in the robustness library)."""

    def __init__(self, model, mean, std):
        super().__init__()
        self.normalizer = InputNormalize(mean, std)
        self.model = model
        self.attacker = Attacker(model, mean, std)

    def forward(self, x):
        return self.model(self.normalizer(x))


# ------------------------------------------------------------------------------------------ PGD
def _l2(v):
    return v.flatten(1).norm(dim=1).view(-1, 1, 1, 1)


def l2_pgd(model, x0, y, eps, alpha, steps, targeted, use_best=True, random_start=False, gen=None):
    """The robustness library's L2 PGD (attacker.py + attack_steps.L2Step).
    targeted=False: maximise CE(y) (training attack). targeted=True: minimise CE(y) (synthesis).
    Step: x <- x + m * alpha * g / (||g||_2 + 1e-10), m = -1 if targeted else +1.
    Project: delta = x - x0, renorm to ||delta||_2 <= eps (torch.renorm), then clamp [0,1].
    use_best keeps each example's best iterate (lowest target loss / highest attack loss),
    judged, as in the library, on the loss of the iterate *before* each step and after the last.
    Returns (x, per-example loss of the returned x, loss history [steps+1, N])."""
    m = -1.0 if targeted else 1.0
    x = x0.clone().detach()
    if random_start:
        r = (torch.rand(x.shape, generator=gen) - 0.5).renorm(p=2, dim=0, maxnorm=eps)
        x = torch.clamp(x0 + r, 0, 1)
    best_x, best_loss = x.clone(), None
    hist = []

    def replace(bl, bx, loss, xx):
        if bl is None:
            return loss.clone(), xx.clone()
        better = (m * loss) > (m * bl) if not targeted else loss < bl
        bx = bx.clone()
        bx[better] = xx[better]
        return torch.where(better, loss, bl), bx

    for _ in range(steps):
        x = x.clone().detach().requires_grad_(True)
        loss = F.cross_entropy(model(x), y, reduction="none")
        g, = torch.autograd.grad(loss.sum(), x)
        loss = loss.detach()
        hist.append(loss)
        if use_best:
            best_loss, best_x = replace(best_loss, best_x, loss, x.detach())
        with torch.no_grad():
            x = x + m * alpha * g / (_l2(g) + 1e-10)
            d = (x - x0).renorm(p=2, dim=0, maxnorm=eps)
            x = torch.clamp(x0 + d, 0, 1)
    with torch.no_grad():
        loss = F.cross_entropy(model(x), y, reduction="none")
    hist.append(loss)
    if use_best:
        best_loss, best_x = replace(best_loss, best_x, loss, x)
        return best_x.detach(), best_loss, torch.stack(hist)
    return x.detach(), loss, torch.stack(hist)


# ------------------------------------------------------------------------------ checkpoint files
def legacy_save(obj, path, pickle_module):
    """torch.save(obj, path, pickle_module=..., _use_new_zipfile_serialization=False), but with
    deterministic storage keys: torch's legacy writer names each storage str(storage._cdata) (a
    memory address), so two runs give different bytes and a different storage order. Here the
    keys are "0", "1", ... in order of first appearance; everything else follows
    torch.serialization._legacy_save for tensors (same magic number, protocol version, sys_info,
    persistent-id tuples, sorted key list, storages as <int64 numel><raw little-endian bytes>)."""
    ser = torch.serialization
    storages, id_map = {}, {}

    class P(pickle_module.Pickler):
        def persistent_id(self, o):
            if isinstance(o, torch.storage.TypedStorage):
                st = o._untyped_storage
                key = id_map.setdefault(st._cdata, str(len(id_map)))
                if key not in storages:
                    storages[key] = (st, o.dtype)
                return ("storage", getattr(torch, o._pickle_storage_type()), key,
                        ser.location_tag(st), o._size(), None)
            if isinstance(o, torch.UntypedStorage):
                raise TypeError("untyped storages are not expected in a state dict")
            return None

    sys_info = dict(protocol_version=ser.PROTOCOL_VERSION, little_endian=sys.byteorder == "little",
                    type_sizes=dict(short=ser.SHORT_SIZE, int=ser.INT_SIZE, long=ser.LONG_SIZE))
    proto = ser.DEFAULT_PROTOCOL
    with open(path, "wb") as f:
        pickle_module.dump(ser.MAGIC_NUMBER, f, protocol=proto)
        pickle_module.dump(ser.PROTOCOL_VERSION, f, protocol=proto)
        pickle_module.dump(sys_info, f, protocol=proto)
        P(f, protocol=proto).dump(obj)
        keys = sorted(storages.keys())
        pickle_module.dump(keys, f, protocol=proto)
        f.flush()
        for k in keys:
            st, dtype = storages[k]
            st._write_file(f, ser._should_read_directly(f), True, torch._utils._element_size(dtype))


def zip_save_deterministic(obj, path):
    """torch.save(obj, path) (zip format), then replace the random 40-digit record
    <root>/.data/serialization_id by one derived from the rest of the archive (fixing both CRC32
    fields in place, sizes unchanged), so identical weights give identical bytes."""
    torch.save(obj, path)
    data = bytearray(open(path, "rb").read())
    with zipfile.ZipFile(io.BytesIO(bytes(data))) as z:
        infos = {i.filename: i for i in z.infolist()}
        name = next(n for n in infos if n.endswith("/.data/serialization_id"))
        others = b"".join(z.read(n) for n in sorted(infos) if n != name)
    info = infos[name]
    assert info.compress_type == zipfile.ZIP_STORED and info.file_size == 40
    new_id = str(int.from_bytes(__import__("hashlib").sha256(others).digest(), "big"))[:40].encode()
    crc = zlib.crc32(new_id) & 0xFFFFFFFF
    lh = info.header_offset
    assert data[lh:lh + 4] == b"PK\x03\x04"
    nlen, xlen = struct.unpack("<HH", data[lh + 26:lh + 30])
    start = lh + 30 + nlen + xlen
    data[start:start + 40] = new_id
    data[lh + 14:lh + 18] = struct.pack("<I", crc)
    cd = data.find(b"PK\x01\x02")  # walk the central headers
    while cd >= 0:
        n2, = struct.unpack("<H", data[cd + 28:cd + 30])
        if data[cd + 46:cd + 46 + n2] == name.encode():
            data[cd + 16:cd + 20] = struct.pack("<I", crc)
            break
        cd = data.find(b"PK\x01\x02", cd + 4)
    else:
        raise RuntimeError("central directory entry not found")
    with open(path, "wb") as f:
        f.write(bytes(data))
    with zipfile.ZipFile(path) as z:
        assert z.testzip() is None


def load_standard(path=None):
    """Returns the standard model wrapped with its normaliser (read from the JSON beside it)."""
    import json
    path = path or os.path.join(MODELS, "digits-standard.pth")
    meta = json.load(open(os.path.splitext(path)[0] + ".json"))
    sd = torch.load(path, map_location="cpu", weights_only=True)
    net = DigitsResNet(tuple(meta["widths"]))
    net.load_state_dict(sd)
    m = nn.Sequential(InputNormalize(meta["mean"], meta["std"]), net)
    return m.eval()


def load_robust(path=None):
    """Reads the MadryLab-layout checkpoint and returns the normalised model (module.normalizer +
    module.model), exactly as the robustness library's make_and_restore_model would use it."""
    import dill
    path = path or os.path.join(MODELS, "digits-robust.pt")
    ck = torch.load(path, map_location="cpu", pickle_module=dill, weights_only=False)
    sd = ck["model"]
    inner = OrderedDict((k[len("module.model."):], v) for k, v in sd.items()
                        if k.startswith("module.model."))
    widths = (inner["layer1.0.conv1.weight"].shape[0], inner["layer2.0.conv1.weight"].shape[0],
              inner["layer3.0.conv1.weight"].shape[0])
    net = DigitsResNet(widths)
    net.load_state_dict(inner)
    m = nn.Sequential(InputNormalize(sd["module.normalizer.new_mean"].flatten(),
                                     sd["module.normalizer.new_std"].flatten()), net)
    return m.eval()
