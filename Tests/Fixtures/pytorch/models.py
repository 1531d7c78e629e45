"""Factories for PyTorchPluginTests: what a user's own `file.py:callable` may look like."""
import torch


def tiny(classes=10, width=8):
    """A small convolutional classifier: kwargs come from the spec's `kwargs:`."""
    torch.manual_seed(0)
    return torch.nn.Sequential(
        torch.nn.Conv2d(3, width, 3, padding=1), torch.nn.ReLU(),
        torch.nn.AdaptiveAvgPool2d(1), torch.nn.Flatten(), torch.nn.Linear(width, classes))


def raises():
    raise RuntimeError("the checkpoint server is down")


def features():
    """Not a classifier: a feature map comes out."""
    return torch.nn.Conv2d(3, 4, 3, padding=1)


def not_a_module():
    return "resnet"
