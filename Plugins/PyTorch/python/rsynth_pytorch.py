"""The Python side of rsynth's `pytorch` classifier plugin (Plugins/PyTorch/pytorch_plugin.c).

The C plugin compiles this file into its library (#embed) and uses it twice:

* `python -c <this file> probe` in a child process, to learn about an interpreter without
  loading it: its executable, version, libpython, home, sys.path and torch version (torch is
  located, not imported). One `key=value` per line.
* as the module `rsynth_pytorch` inside the embedded interpreter: `open_model(...)` builds the
  model from the spec's factory, and the returned Model's `forward` / `input_gradient` read and
  write the host's float32 buffers in place (ctypes arrays over the host's addresses, viewed by
  torch.frombuffer: no per-element Python, no copy on the CPU).

No function here lets an exception out: each returns "" on success or one message, which the
plugin hands to the host as its error.
"""
import sys

TRACEBACK_LINES = 4


def probe():
    import os
    import sysconfig
    import importlib.util
    import importlib.metadata

    v = sysconfig.get_config_var
    lines = ["executable=" + (sys.executable or ""),
             "version=%d.%d.%d" % sys.version_info[:3]]
    lib = ""
    dirs = [d for d in (v("LIBDIR"), v("LIBPL"), os.path.join(sys.base_prefix, "lib")) if d]
    multiarch = v("MULTIARCH")
    if multiarch and v("LIBDIR"):
        dirs.append(os.path.join(v("LIBDIR"), multiarch))
    names = [n for n in (v("LDLIBRARY"), v("INSTSONAME"),
                         "libpython%d.%d.so" % sys.version_info[:2],
                         "libpython%d.%d.so.1.0" % sys.version_info[:2],
                         "libpython%d.%d.dylib" % sys.version_info[:2]) if n and not n.endswith(".a")]
    for d in dirs:
        for n in names:
            if os.path.isfile(os.path.join(d, n)):
                lib = os.path.join(d, n)
                break
        if lib:
            break
    lines.append("libpython=" + lib)
    home = sys.base_prefix
    if sys.base_exec_prefix != sys.base_prefix:
        home += ":" + sys.base_exec_prefix
    lines.append("home=" + home)
    for p in sys.path:
        if p and p != os.getcwd():
            lines.append("path=" + p)
    try:
        spec = importlib.util.find_spec("torch")
    except Exception:
        spec = None
    if spec is not None:
        # torch/version.py as text (importing torch takes seconds): __version__ and cuda.
        import re
        where = os.path.dirname(spec.origin or "")
        version, build = "", ""
        try:
            with open(os.path.join(where, "version.py"), encoding="utf-8") as f:
                text = f.read()
            m = re.search(r"^__version__\s*=\s*['\"]([^'\"]+)", text, re.M)
            version = m.group(1) if m else ""
            m = re.search(r"^cuda(?:\s*:[^=]*)?=\s*(?:['\"]([^'\"]+)['\"]|None)", text, re.M)
            if m:
                build = "CUDA %s build" % m.group(1) if m.group(1) else "CPU-only build"
        except OSError:
            pass
        if not version:
            try:
                version = importlib.metadata.version("torch")
            except Exception:
                version = "unknown version"
        lines.append("torch=" + version)
        lines.append("torch_at=" + where + (", " + build if build else ""))
    print("\n".join(lines))


def _tail(limit=TRACEBACK_LINES):
    """The last lines of the current exception's traceback, indented, one string."""
    import traceback
    lines = []
    for chunk in traceback.format_exception(*sys.exc_info()):
        lines.extend(line for line in chunk.rstrip("\n").split("\n") if line.strip())
    lines = [line for line in lines if line != "Traceback (most recent call last):"
             and not line.lstrip().startswith("File \"<frozen ")]
    return "\n".join("    " + line.rstrip() for line in lines[-limit:])


def _with_tail(message):
    return message + "; Python's traceback ends:\n" + _tail()


class Failure(Exception):
    """A message for the user, already complete."""


class Model:
    def __init__(self):
        self.error = ""
        self.num_classes = 0
        self.device_name = ""
        self.x = None
        self.z = None
        self.taps = []
        self.tap_shapes = {}

    # ---- building ----------------------------------------------------------------------
    def build(self, executable, model, kwargs, weights, device, precision, size, channels, mean, std, class_count):
        self.model_name = model
        try:
            import torch
        except Exception:
            raise Failure(_with_tail("cannot import torch in %s" % executable))
        self.torch = torch
        self.device = self._device(torch, device, executable)
        self.device_name = str(self.device)
        self.autocast = None
        if precision == "bfloat16":
            self.autocast = self.device.type
        import json
        try:
            kw = json.loads(kwargs) if kwargs.strip() else {}
        except ValueError as e:
            raise Failure("kwargs is not a JSON object: %s (%r)" % (e, kwargs))
        if not isinstance(kw, dict):
            raise Failure("kwargs is not a JSON object: %r" % kwargs)
        factory = self._factory(model)
        try:
            net = factory(**kw)
        except Exception:
            raise Failure(_with_tail("model '%s': the factory raised" % model))
        if not isinstance(net, torch.nn.Module):
            raise Failure("model '%s': the factory returned %s, not a torch.nn.Module" % (model, type(net).__name__))
        if weights:
            self._load_weights(net, weights, model)
        net.eval()
        for p in net.parameters():
            p.requires_grad_(False)
        try:
            net.to(self.device)
        except Exception:
            raise Failure(_with_tail("model '%s': moving it to %s failed" % (model, self.device)))
        self.net = net
        self.shape = (channels, size, size)
        self.mean = torch.tensor(mean, dtype=torch.float32, device=self.device).view(1, -1, 1, 1)
        self.std = torch.tensor(std, dtype=torch.float32, device=self.device).view(1, -1, 1, 1)
        if self.mean.numel() not in (1, channels) or self.std.numel() not in (1, channels):
            raise Failure("mean and std need 1 or %d values (one per channel), not %d and %d"
                          % (channels, self.mean.numel(), self.std.numel()))
        # One example through the model: the input size and the output shape are checked here,
        # so a wrong model fails at create with its own words, not at the first step.
        x = torch.zeros((1,) + self.shape, device=self.device)
        try:
            with torch.no_grad():
                z = self._run(x)
        except Exception:
            raise Failure(_with_tail("model '%s' fails on one %dx%dx%d input (input_size %d)" % (model, channels, size, size, size)))
        if not isinstance(z, torch.Tensor) or z.dim() != 2 or z.shape[0] != 1:
            what = ("a tensor of shape [%s]" % ", ".join(str(d) for d in z.shape)) if isinstance(z, torch.Tensor) else type(z).__name__
            raise Failure("model '%s' returns %s for a batch of 1, not logits [N, classes]: is it a classifier?" % (model, what))
        self.num_classes = int(z.shape[1])
        if class_count and class_count != self.num_classes:
            raise Failure("classes names %d classes but model '%s' has %d outputs" % (class_count, model, self.num_classes))
        self._find_taps(x)

    def _find_taps(self, x):
        """The taps: every named module that one forward calls exactly once and whose output is
        one tensor [1, ...] of rank 2 to 4, named as in named_modules() ("layer4", "layer3.2");
        and `representation`, the input of the model's last nn.Linear (the penultimate vector,
        as robust_representations calls it), where it is called once with a [1, F] input and no
        module has that name. A module called more than once (torchvision's shared ReLUs) has no
        single output, so it is no tap."""
        torch = self.torch
        self.modules = {name: m for name, m in self.net.named_modules() if name}
        outputs, handles = {}, []
        for name, module in self.modules.items():
            def record(mod, inp, out, name=name):
                outputs.setdefault(name, []).append(tuple(out.shape) if isinstance(out, torch.Tensor) else None)
            handles.append(module.register_forward_hook(record))
        linear = [name for name, m in self.modules.items() if isinstance(m, torch.nn.Linear)]
        self.representation_of = linear[-1] if linear and "representation" not in self.modules else None
        inputs = []
        if self.representation_of:
            def record_input(mod, inp):
                inputs.append(tuple(inp[0].shape) if inp and isinstance(inp[0], torch.Tensor) else None)
            handles.append(self.modules[self.representation_of].register_forward_pre_hook(record_input))
        try:
            with torch.no_grad():
                self._run(x)
        finally:
            for h in handles:
                h.remove()
        shapes = {}
        for name in self.modules:
            seen = outputs.get(name, [])
            if len(seen) == 1 and seen[0] and 2 <= len(seen[0]) <= 4 and seen[0][0] == 1:
                shapes[name] = seen[0][1:]
        if len(inputs) == 1 and inputs[0] and len(inputs[0]) == 2 and inputs[0][0] == 1:
            shapes["representation"] = inputs[0][1:]
        else:
            self.representation_of = None
        self.tap_shapes = shapes

    def tap_list(self):
        """The taps for the C side: a line "name<TAB>d1,d2,..." each (one example's shape)."""
        return "".join("%s\t%s\n" % (name, ",".join(str(d) for d in shape)) for name, shape in self.tap_shapes.items())

    @staticmethod
    def _device(torch, device, executable):
        cuda_built = torch.backends.cuda.is_built()
        if device == "auto":
            return torch.device("cuda" if cuda_built and torch.cuda.is_available() else "cpu")
        if device == "cuda":
            if not cuda_built:
                raise Failure("device: cuda, but torch %s in %s is a CPU-only build; install a CUDA build of torch "
                              "or use device: cpu" % (torch.__version__, executable))
            if not torch.cuda.is_available():
                raise Failure("device: cuda, but torch %s in %s sees no GPU (torch.cuda.is_available() is False); "
                              "use device: cpu or auto" % (torch.__version__, executable))
            return torch.device("cuda")
        return torch.device("cpu")

    @staticmethod
    def _factory(model):
        import importlib
        import os
        module_name, sep, attr = model.rpartition(":")
        if not sep or not module_name or not attr:
            raise Failure("model '%s' is not 'package.module:callable' or 'file.py:callable'" % model)
        if module_name.endswith(".py"):
            path = os.path.abspath(module_name)
            if not os.path.isfile(path):
                raise Failure("model '%s': no file %s" % (model, path))
            import importlib.util
            spec = importlib.util.spec_from_file_location("rsynth_user_model_%d" % abs(hash(path)), path)
            module = importlib.util.module_from_spec(spec)
            sys.modules[spec.name] = module
            try:
                spec.loader.exec_module(module)
            except Exception:
                raise Failure(_with_tail("model '%s': running %s raised" % (model, path)))
        else:
            try:
                module = importlib.import_module(module_name)
            except Exception:
                raise Failure(_with_tail("model '%s': cannot import module '%s'" % (model, module_name)))
        obj = module
        for part in attr.split("."):
            if not hasattr(obj, part):
                import difflib
                near = difflib.get_close_matches(part, [n for n in dir(obj) if not n.startswith("_")], 1)
                hint = " (did you mean '%s'?)" % near[0] if near else ""
                raise Failure("model '%s': module '%s' has no '%s'%s" % (model, module_name, attr, hint))
            obj = getattr(obj, part)
        if not callable(obj):
            raise Failure("model '%s': '%s' is a %s, not a callable" % (model, attr, type(obj).__name__))
        return obj

    def _load_weights(self, net, weights, model):
        torch = self.torch
        try:
            state = torch.load(weights, map_location="cpu", weights_only=True)
        except Exception:
            raise Failure(_with_tail("weights %s: torch.load(weights_only=True) failed" % weights))
        for key in ("state_dict", "model"):
            if isinstance(state, dict) and isinstance(state.get(key), dict):
                state = state[key]
        if not isinstance(state, dict):
            raise Failure("weights %s hold a %s, not a state dict" % (weights, type(state).__name__))
        if state and all(isinstance(k, str) and k.startswith("module.") for k in state):
            state = {k[len("module."):]: v for k, v in state.items()}
        try:
            net.load_state_dict(state, strict=True)
        except Exception as e:
            text = " ".join(str(e).split())
            if len(text) > 600:
                text = text[:600] + " ..."
            raise Failure("weights %s do not fit model '%s': %s" % (weights, model, text))

    def _run(self, x):
        torch = self.torch
        if self.autocast:
            with torch.autocast(self.autocast, dtype=torch.bfloat16):
                return self.net((x - self.mean) / self.std)
        return self.net((x - self.mean) / self.std)

    # ---- calls -------------------------------------------------------------------------
    def _view(self, address, shape):
        import ctypes
        count = 1
        for d in shape:
            count *= d
        buf = (ctypes.c_float * count).from_address(address)
        return self.torch.frombuffer(buf, dtype=self.torch.float32).view(*shape)

    def forward(self, x_address, n, c, h, w, out_address):
        return self.forward_taps(x_address, n, c, h, w, out_address, "", "")

    def forward_taps(self, x_address, n, c, h, w, out_address, names_text, addresses_text):
        """Logits into out_address, and each tap named (names_text: one per line) into the
        host buffer at the same place of addresses_text (comma-separated)."""
        try:
            torch = self.torch
            if (c, h, w) != self.shape:
                return "input of %dx%dx%d, but the model was set up for %dx%dx%d" % ((c, h, w) + self.shape)
            self.x = self.z = None
            self.taps = []
            names = names_text.split("\n") if names_text else []
            addresses = [int(a) for a in addresses_text.split(",")] if names else []
            for name in names:
                if name not in self.tap_shapes:
                    import difflib
                    near = difflib.get_close_matches(name, list(self.tap_shapes), 1)
                    return "no tap '%s'%s" % (name, " (did you mean '%s'?)" % near[0] if near else "")
            captured, handles = {}, []
            for name in dict.fromkeys(names):
                if name == "representation" and self.representation_of:
                    def keep_input(mod, inp, name=name):
                        captured[name] = inp[0]
                    handles.append(self.modules[self.representation_of].register_forward_pre_hook(keep_input))
                else:
                    # The output itself is the tap; the rest of the model gets a copy, so an
                    # in-place operation after the module (ReLU(inplace=True)) cannot change it.
                    def keep_output(mod, inp, out, name=name):
                        captured[name] = out
                        return out.clone()
                    handles.append(self.modules[name].register_forward_hook(keep_output))
            # The host's buffer itself on the CPU (never written: the normalisation makes a new tensor).
            x = self._view(x_address, (n, c, h, w)).to(self.device).requires_grad_(True)
            try:
                with torch.enable_grad():
                    z = self._run(x)
            finally:
                for h in handles:
                    h.remove()
            if not isinstance(z, torch.Tensor) or tuple(z.shape) != (n, self.num_classes):
                what = list(z.shape) if isinstance(z, torch.Tensor) else type(z).__name__
                return "model '%s' returned %s for a batch of %d, not [%d, %d]" % (self.model_name, what, n, n, self.num_classes)
            self._view(out_address, (n, self.num_classes)).copy_(z.detach())
            for name, address in zip(names, addresses):
                shape = (n,) + tuple(self.tap_shapes[name])
                value = captured[name]
                if tuple(value.shape) != shape:
                    return "tap '%s' is %s for a batch of %d, not %s" % (name, list(value.shape), n, list(shape))
                self._view(address, shape).copy_(value.detach())
                self.taps.append(value)
            self.x, self.z = x, z
            return ""
        except Exception:
            return _with_tail("model '%s': forward failed" % self.model_name)

    def input_gradient(self, dl_address, n, k, dx_address):
        return self.input_gradient_taps(dl_address, n, k, dx_address, "")

    def input_gradient_taps(self, dl_address, n, k, dx_address, addresses_text):
        """dx from dlogits and the gradient of each tap of the last forward (addresses_text:
        comma-separated, 0 for a tap whose gradient is zero), in one backward pass."""
        try:
            torch = self.torch
            if self.z is None:
                return "input_gradient without a forward before it"
            if (n, k) != tuple(self.z.shape):
                return "dlogits of %dx%d for logits of %dx%d" % ((n, k) + tuple(self.z.shape))
            addresses = [int(a) for a in addresses_text.split(",")] if addresses_text else []
            if len(addresses) != len(self.taps):
                return "%d tap gradients for the %d taps of the last forward" % (len(addresses), len(self.taps))
            outputs = [self.z]
            grads = [self._view(dl_address, (n, k)).to(self.device, dtype=self.z.dtype)]
            for tap, address in zip(self.taps, addresses):
                if address:
                    outputs.append(tap)
                    grads.append(self._view(address, tuple(tap.shape)).to(self.device, dtype=tap.dtype))
            (g,) = torch.autograd.grad(outputs, self.x, grad_outputs=grads)
            self._view(dx_address, (n,) + self.shape).copy_(g)
            self.x = self.z = None
            self.taps = []
            return ""
        except Exception:
            return _with_tail("model '%s': input gradient failed" % self.model_name)

    def close(self):
        self.x = self.z = self.net = None
        self.taps = []
        self.modules = {}


def set_path(paths, executable, home=None):
    """sys.path of the interpreter the spec named (its virtual environment's site-packages), and
    the host's PYTHONHOME (`home`, None: unset) in os.environ, which the start had set."""
    import os
    if home is None:
        os.environ.pop("PYTHONHOME", None)
    else:
        os.environ["PYTHONHOME"] = home
    entries = [p for p in paths.split("\n") if p]
    sys.path[:] = entries + [p for p in sys.path if p and p not in entries]
    if executable:
        sys.executable = executable
    return ""


def open_model(executable, model, kwargs, weights, device, precision, size, channels,
               mean_address, mean_count, std_address, std_count, class_count):
    """A Model; its `error` is "" or why it could not be built."""
    import ctypes
    m = Model()
    try:
        mean = list((ctypes.c_double * mean_count).from_address(mean_address)) if mean_count else [0.0]
        std = list((ctypes.c_double * std_count).from_address(std_address)) if std_count else [1.0]
        m.build(executable, model, kwargs, weights, device, precision, size, channels, mean, std, class_count)
    except Failure as e:
        m.error = str(e)
    except BaseException:
        m.error = _with_tail("model '%s': setting it up failed" % model)
    if m.error:
        m.close()
    return m


if __name__ == "__main__" and sys.argv[1:] == ["probe"]:
    probe()
