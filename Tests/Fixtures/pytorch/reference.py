"""Reference values for PyTorchPluginTests, computed by plain PyTorch in a process of its own.

    python reference.py ARCH INPUT_SIZE BATCH SEED OUTDIR

builds torchvision.models.ARCH with random weights (seeded; BatchNorm statistics randomised too,
so a ResNet's running means and variances are not the trivial 0 and 1, and a zero-initialised
head such as ViT's drawn at random), saves its state dict to
OUTDIR/ARCH.pt, draws a batch x in [0, 1) and dlogits, and writes (raw little-endian float32)
OUTDIR/ARCH-x.f32, -dlogits.f32, and what PyTorch computes from them, -logits.f32 and -dx.f32:
the logits of the ImageNet-normalised x in eval mode and the vector-Jacobian product dlogits^T
d logits / d x. The plugin under test loads the same state dict in another process.
"""
import os
import sys

import torch
import torchvision

arch, size, batch, seed, out = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), sys.argv[5]
torch.manual_seed(seed)
net = getattr(torchvision.models, arch)(weights=None)
with torch.no_grad():
    for m in net.modules():
        if isinstance(m, torch.nn.BatchNorm2d):
            m.running_mean.uniform_(-0.2, 0.2)
            m.running_var.uniform_(0.5, 1.5)
            m.weight.uniform_(0.5, 1.5)
            m.bias.uniform_(-0.2, 0.2)
        if isinstance(m, torch.nn.Linear) and not m.weight.any():
            m.weight.normal_(0, 0.02)   # ViT's head starts at zero: logits 0, gradient 0
net.eval()
torch.save(net.state_dict(), os.path.join(out, arch + ".pt"))

g = torch.Generator().manual_seed(seed + 1)
x = torch.rand(batch, 3, size, size, generator=g)
mean = torch.tensor([0.485, 0.456, 0.406]).view(1, 3, 1, 1)
std = torch.tensor([0.229, 0.224, 0.225]).view(1, 3, 1, 1)
xr = x.clone().requires_grad_(True)
logits = net((xr - mean) / std)
dlogits = torch.randn(logits.shape, generator=g)
(dx,) = torch.autograd.grad(logits, xr, grad_outputs=dlogits)
for name, t in (("x", x), ("dlogits", dlogits), ("logits", logits.detach()), ("dx", dx)):
    with open(os.path.join(out, "%s-%s.f32" % (arch, name)), "wb") as f:
        f.write(t.contiguous().numpy().astype("<f4").tobytes())
print("logits %s max |logit| %.4g max |dx| %.4g" % (list(logits.shape), logits.abs().max().item(), dx.abs().max().item()))
