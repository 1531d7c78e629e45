"""Write the small checkpoint fixtures that Tests/CheckpointsTests reads.

Run from the repository root with the PyTorch venv (only needed to REGENERATE the fixtures;
the Swift tests read the committed files and never need Python):

    /root/torch-venv/bin/python Tests/Fixtures/make_checkpoint_fixtures.py

Needs torch, numpy, dill and safetensors. Seeds are fixed, so the tensor values are deterministic
(zip archives also hold a random serialization id, so their bytes differ run to run; the values
in expected.json do not).

Writes Tests/Fixtures/checkpoints/:
  tiny_zip.pt               torch.save(state_dict) in the zip format (root folder "tiny_zip")
  madry_legacy.pt           legacy non-zip format pickled with dill, MadryLab layout
  madry_legacy_cuda.pt      the same as saved from GPU tensors (torch.cuda.*Storage, 'cuda:0')
                            {'model': ..., 'optimizer': ..., 'schedule': None, 'epoch': 90}
  tiny_f32/f16/bf16/f64.safetensors
  views_zip.pt              storage offsets, a transposed (non-contiguous) view, shared storage
  dtypes_zip.pt             float16/bfloat16/float64/int32/int16/int8/uint8/bool tensors
  with_args_zip.pt          {'state_dict': sd, 'args': argparse.Namespace, 'epoch': 3}
  dill_with_code.pt         legacy+dill with a lambda and a function pickled by value beside the
                            state dict (add one alone: make_checkpoint_fixtures.py --only dill_with_code|madry_legacy_cuda)
  evil_zip.pt               data.pkl = os.system("touch /tmp/robustsynth_pwned_zip")
  evil_stack_global_zip.pt  protocol-4 STACK_GLOBAL builtins.eval(...) next to a valid state dict
  evil_legacy.pt            legacy file whose object pickle calls os.system("touch ...legacy")
  legacy_storage_view.pt    legacy file whose tensor lies in a storage view (torch <= 1.5 style)
  *_truncated.*             truncated copies of the three formats
  plain_protocol{0..5}.pkl  one plain data object pickled by CPython at every protocol
  expected.json             names, shapes, dtypes and values (as float32) computed by PyTorch
"""
import argparse
import collections
import io
import json
import os
import pickle
import struct
import sys
import zipfile

import dill
import torch
import torch.nn as nn
from safetensors.torch import save_file

OUT = os.path.join("Tests", "Fixtures", "checkpoints")
PWNED_ZIP = "/tmp/robustsynth_pwned_zip"
PWNED_LEGACY = "/tmp/robustsynth_pwned_legacy"
PWNED_EVAL = "/tmp/robustsynth_pwned_eval"
PWNED_DILL_CODE = "/tmp/robustsynth_pwned_dill_code"


class Tiny(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(3, 4, 3, bias=False)
        self.bn1 = nn.BatchNorm2d(4)
        self.fc = nn.Linear(4, 2)


def tiny_state_dict():
    torch.manual_seed(0)
    m = Tiny()
    with torch.no_grad():
        m.bn1.weight.uniform_(0.5, 1.5)
        m.bn1.bias.normal_()
        m.bn1.running_mean.normal_()
        m.bn1.running_var.uniform_(0.5, 2.0)
    m.bn1.num_batches_tracked.fill_(7)
    return m.state_dict()  # OrderedDict with _metadata (exercises BUILD)


def describe(sd, cast=None):
    out = []
    for k, v in sd.items():
        stored = v if cast is None or not v.is_floating_point() else v.to(cast)
        out.append({
            "name": k,
            "shape": list(stored.shape),
            "dtype": str(stored.dtype).replace("torch.", ""),
            "values": [float(x) for x in stored.float().reshape(-1).tolist()],
        })
    return out


def save_zip(obj, name):
    torch.save(obj, os.path.join(OUT, name))


def truncate_copy(src, dst, keep):
    with open(os.path.join(OUT, src), "rb") as f:
        data = f.read()
    with open(os.path.join(OUT, dst), "wb") as f:
        f.write(data[:keep(len(data))])


def short_unicode(s):
    b = s.encode()
    return b"\x8c" + bytes([len(b)]) + b  # SHORT_BINUNICODE


def binunicode(s):
    b = s.encode()
    return b"X" + struct.pack("<I", len(b)) + b  # BINUNICODE


def dill_with_code(sd, expected):
    """(f2) a legacy dill checkpoint that holds code beside the state dict, as training scripts leave
    them: a lambda and a nested function pickled by value (dill's _create_code/_create_function)
    inside an argparse Namespace and a schedule dict. The reader must walk past them inert."""
    secret = "touch " + PWNED_DILL_CODE

    def hook(x):   # never called: only its code object is pickled
        return os.system(secret)

    args = argparse.Namespace(arch="tiny", eps=3.0, step_fn=lambda x: x * 2, hook=hook)
    obj = {"model": collections.OrderedDict(("module.model." + k, v) for k, v in sd.items()),
           "optimizer": {"state": {}, "param_groups": []}, "schedule": {"lr_lambdas": [lambda e: 0.1 ** (e // 30)]},
           "epoch": 90, "args": args}
    with open(os.path.join(OUT, "dill_with_code.pt"), "wb") as f:
        torch.save(obj, f, pickle_module=dill, _use_new_zipfile_serialization=False)
    expected["dill_with_code.pt"] = {"format": "pytorch-legacy", "stateDictKey": "model",
                                     "tensors": describe(obj["model"])}


def madry_legacy_cuda(expected):
    """(b2) madry_legacy.pt as if saved from GPU tensors, as MadryLab's checkpoints were: storage
    classes torch.cuda.*Storage and location 'cuda:0'. Made by rewriting the two pickled names
    (no GPU needed here); torch.load reads it only with map_location, like a real GPU file."""
    with open(os.path.join(OUT, "madry_legacy.pt"), "rb") as f:
        data = f.read()
    for kind in (b"FloatStorage", b"LongStorage"):
        data = data.replace(b"ctorch\n" + kind + b"\n", b"ctorch.cuda\n" + kind + b"\n")
    data = data.replace(b"X\x03\x00\x00\x00cpu", b"X\x06\x00\x00\x00cuda:0")   # BINUNICODE 'cpu'
    with open(os.path.join(OUT, "madry_legacy_cuda.pt"), "wb") as f:
        f.write(data)
    expected["madry_legacy_cuda.pt"] = dict(expected["madry_legacy.pt"])


ADDITIONS = {"dill_with_code": lambda expected: dill_with_code(tiny_state_dict(), expected),
             "madry_legacy_cuda": madry_legacy_cuda}


def main():
    os.makedirs(OUT, exist_ok=True)
    if len(sys.argv) == 3 and sys.argv[1] == "--only" and sys.argv[2] in ADDITIONS:
        # Add one fixture without rewriting the others (zip files differ byte-wise per run).
        with open(os.path.join(OUT, "expected.json")) as f:
            expected = json.load(f)
        ADDITIONS[sys.argv[2]](expected)
        with open(os.path.join(OUT, "expected.json"), "w") as f:
            json.dump(expected, f, indent=1)
            f.write("\n")
        return
    expected = {}
    sd = tiny_state_dict()

    # (a) zip format, plain state dict at the top level.
    save_zip(sd, "tiny_zip.pt")
    expected["tiny_zip.pt"] = {"format": "pytorch-zip", "stateDictKey": "", "tensors": describe(sd)}

    # (b) legacy format pickled with dill, MadryLab layout. The attacker copy shares storages with
    # the model copy (detach() gives a new tensor object on the same storage), like MadryLab's.
    torch.manual_seed(1)
    mean = torch.tensor([0.485, 0.456, 0.406]).reshape(3, 1, 1)
    std = torch.tensor([0.229, 0.224, 0.225]).reshape(3, 1, 1)
    madry = collections.OrderedDict()
    madry["module.normalizer.new_mean"] = mean
    madry["module.normalizer.new_std"] = std
    for k, v in sd.items():
        madry["module.model." + k] = v
    madry["module.attacker.normalize.new_mean"] = mean  # same object: pickled as a memo GET
    madry["module.attacker.normalize.new_std"] = std
    for k, v in sd.items():
        madry["module.attacker.model." + k] = v.detach()
    params = [k for k, v in sd.items() if v.is_floating_point() and "running" not in k]
    optimizer = {
        "state": {i: {"momentum_buffer": torch.randn(sd[k].shape)} for i, k in enumerate(params)},
        "param_groups": [{"lr": 0.1, "momentum": 0.9, "dampening": 0, "weight_decay": 1e-4,
                          "nesterov": False, "params": list(range(len(params)))}],
    }
    legacy_obj = {"model": madry, "optimizer": optimizer, "schedule": None, "epoch": 90}
    with open(os.path.join(OUT, "madry_legacy.pt"), "wb") as f:
        torch.save(legacy_obj, f, pickle_module=dill, _use_new_zipfile_serialization=False)
    expected["madry_legacy.pt"] = {"format": "pytorch-legacy", "stateDictKey": "model",
                                   "tensors": describe(madry)}
    madry_legacy_cuda(expected)

    # (c) safetensors in several float dtypes (integer tensors stay int64).
    for tag, dt in [("f32", None), ("f16", torch.float16), ("bf16", torch.bfloat16),
                    ("f64", torch.float64)]:
        conv = collections.OrderedDict(
            (k, (v if dt is None or not v.is_floating_point() else v.to(dt)).contiguous())
            for k, v in sd.items())
        name = f"tiny_{tag}.safetensors"
        save_file(conv, os.path.join(OUT, name), metadata={"format": "pt"})
        # safetensors' file order is data-offset order; the reader reports that order.
        with open(os.path.join(OUT, name), "rb") as f:
            raw = f.read()
        hdr = json.loads(raw[8:8 + struct.unpack("<Q", raw[:8])[0]])
        order = sorted((k for k in hdr if k != "__metadata__"), key=lambda k: hdr[k]["data_offsets"][0])
        expected[name] = {"format": "safetensors", "stateDictKey": "",
                          "tensors": describe(collections.OrderedDict((k, conv[k]) for k in order))}

    # (d) views: storage offsets, a non-contiguous transpose, shared storage, a 0-dim view.
    torch.manual_seed(2)
    base = torch.randn(6, 5)
    views = collections.OrderedDict()
    views["base"] = base
    views["rows_2_to_4"] = base[2:5]                 # storage_offset 10, contiguous
    views["transposed"] = base.t()                  # strides (1, 5)
    views["column_3"] = base[:, 3]                  # offset 3, stride (5,)
    views["scalar_view"] = base[4, 1]               # 0-dim, offset 21
    views["every_other"] = base[::2, 1::2]          # offset 1, strides (10, 2)
    save_zip(views, "views_zip.pt")
    expected["views_zip.pt"] = {"format": "pytorch-zip", "stateDictKey": "", "tensors": describe(views)}

    # (e) storage types other than float/long.
    torch.manual_seed(3)
    dts = collections.OrderedDict()
    dts["half"] = torch.randn(2, 3).half()
    dts["bfloat"] = torch.randn(3).bfloat16()
    dts["double"] = torch.randn(2, 2).double()
    dts["int32"] = torch.tensor([-5, 0, 7, 2147483647], dtype=torch.int32)
    dts["int16"] = torch.tensor([-300, 300], dtype=torch.int16)
    dts["int8"] = torch.tensor([-128, 127], dtype=torch.int8)
    dts["uint8"] = torch.tensor([0, 255, 3], dtype=torch.uint8)
    dts["bool"] = torch.tensor([True, False, True])
    dts["int64_big"] = torch.tensor([-(2 ** 40), 2 ** 40 + 1])
    dts["empty"] = torch.zeros(0, 4)
    save_zip(dts, "dtypes_zip.pt")
    expected["dtypes_zip.pt"] = {"format": "pytorch-zip", "stateDictKey": "", "tensors": describe(dts)}

    # (f) a training checkpoint with an unknown class beside the state dict (must stay inert).
    args = argparse.Namespace(arch="tiny", lr=0.1)
    save_zip({"epoch": 3, "args": args, "state_dict": sd}, "with_args_zip.pt")
    expected["with_args_zip.pt"] = {"format": "pytorch-zip", "stateDictKey": "state_dict",
                                    "tensors": describe(sd)}

    dill_with_code(sd, expected)

    # (g) malicious pickles, built by hand: GLOBAL os system + REDUCE.
    evil = (b"\x80\x02" + b"cos\nsystem\n" + binunicode("touch " + PWNED_ZIP) + b"\x85" + b"R" + b".")
    with open(os.path.join(OUT, "tiny_zip.pt"), "rb") as f:
        good = zipfile.ZipFile(f)
        entries = {n: good.read(n) for n in good.namelist()}
    with zipfile.ZipFile(os.path.join(OUT, "evil_zip.pt"), "w", zipfile.ZIP_STORED) as z:
        for n, data in entries.items():
            n = n.replace("tiny_zip/", "evil/", 1)
            z.writestr(n, evil if n.endswith("/data.pkl") else data)
    # Protocol 4, STACK_GLOBAL builtins.eval, tucked beside a real state dict: {'x': eval(...)}.
    payload = "__import__('os').system('touch " + PWNED_EVAL + "')"
    evil4 = (b"\x80\x04" + b"}" + short_unicode("x") + short_unicode("builtins") + short_unicode("eval")
             + b"\x93" + binunicode(payload) + b"\x85" + b"R" + b"s" + b".")
    with zipfile.ZipFile(os.path.join(OUT, "evil_stack_global_zip.pt"), "w", zipfile.ZIP_STORED) as z:
        for n, data in entries.items():
            z.writestr(n.replace("tiny_zip/", "archive/", 1), evil4 if n.endswith("/data.pkl") else data)
    # Legacy: the three header pickles of a real legacy file, then the payload, then an empty key list.
    buf = io.BytesIO()
    for obj in (0x1950a86a20f9469cfc6c, 1001,
                {"protocol_version": 1001, "little_endian": True,
                 "type_sizes": {"short": 2, "int": 4, "long": 4}}):
        dill.dump(obj, buf, protocol=2)
    buf.write(b"\x80\x02" + b"cos\nsystem\n" + binunicode("touch " + PWNED_LEGACY) + b"\x85R.")
    dill.dump([], buf, protocol=2)
    with open(os.path.join(OUT, "evil_legacy.pt"), "wb") as f:
        f.write(buf.getvalue())

    # (g2) a legacy file whose tensor uses a storage *view* (persistent id's sixth element is
    # (view_key, offset, size)), as torch <= 1.5 could write; torch 2 always writes None there.
    class StorageView:
        pass

    class ViewTensor:
        def __reduce__(self):
            return (torch._utils._rebuild_tensor_v2,
                    (StorageView(), 1, (2,), (1,), False, collections.OrderedDict()))

    class ViewPickler(pickle.Pickler):
        def persistent_id(self, obj):
            if isinstance(obj, StorageView):
                return ("storage", torch.FloatStorage, "root", "cpu", 3, ("view", 2, 3))
            return None

    buf = io.BytesIO()
    for obj in (0x1950a86a20f9469cfc6c, 1001, {"protocol_version": 1001, "little_endian": True,
                                              "type_sizes": {"short": 2, "int": 4, "long": 4}}):
        pickle.dump(obj, buf, protocol=2)
    ViewPickler(buf, protocol=2).dump(collections.OrderedDict([("view", ViewTensor())]))
    pickle.dump(["root"], buf, protocol=2)
    root = [0.5, 1.5, 2.5, 3.5, 4.5]
    buf.write(struct.pack("<q", len(root)) + struct.pack(f"<{len(root)}f", *root))
    with open(os.path.join(OUT, "legacy_storage_view.pt"), "wb") as f:
        f.write(buf.getvalue())
    # root[2:5] is the view, and the tensor starts one element into it: [3.5, 4.5].
    expected["legacy_storage_view.pt"] = {"format": "pytorch-legacy", "stateDictKey": "", "tensors": [
        {"name": "view", "shape": [2], "dtype": "float32", "values": [3.5, 4.5]}]}

    # (h) truncated copies: zip missing its central directory, legacy cut inside the storages,
    # safetensors cut inside the data.
    truncate_copy("tiny_zip.pt", "tiny_zip_truncated.pt", lambda n: n // 2)
    truncate_copy("madry_legacy.pt", "madry_legacy_truncated.pt", lambda n: n - 100)
    truncate_copy("tiny_f32.safetensors", "tiny_f32_truncated.safetensors", lambda n: n - 10)

    # (i) plain pickles of one data-only object at every protocol, written by CPython itself, to
    # check the unpickler's opcode coverage (the shared list exercises the memo).
    shared = [1, 2]
    plain = {"ints": [0, 1, -1, 255, 256, 65535, 65536, -2 ** 31, 2 ** 31, 2 ** 62, -2 ** 63],
             "floats": [0.5, -1e300, 3.0], "strs": ["", "a", "\u00fcn\u00efcode \u2713", "x" * 300],
             "tuple": (1, (2, 3), ()), "consts": [True, False, None],
             "nested": {"k": {"j": [[]]}}, "shared_a": shared, "shared_b": shared}
    for proto in range(6):
        with open(os.path.join(OUT, f"plain_protocol{proto}.pkl"), "wb") as f:
            pickle.dump(plain, f, protocol=proto)

    with open(os.path.join(OUT, "expected.json"), "w") as f:
        json.dump(expected, f, indent=1)
        f.write("\n")
    total = sum(os.path.getsize(os.path.join(OUT, n)) for n in os.listdir(OUT))
    print(f"wrote {len(os.listdir(OUT))} files, {total} bytes, to {OUT}")


if __name__ == "__main__":
    main()
