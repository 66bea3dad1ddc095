"""Width-scaled networks: ResNet18 in 1D and 2D, and an MLP."""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from lscape.validation import ParameterError, check_choice, check_int

MODELS = ("cnn1d", "cnn", "resnet18", "resnet18_1d", "mlp")


def _conv(dim: int):
    return nn.Conv1d if dim == 1 else nn.Conv2d


def _batch_norm(dim: int):
    return nn.BatchNorm1d if dim == 1 else nn.BatchNorm2d


class BasicBlock(nn.Module):
    """Two 3-wide convolutions with BatchNorm and an identity (or 1-wide projection) shortcut."""

    def __init__(self, in_channels: int, out_channels: int, stride: int, dim: int):
        super().__init__()
        conv, norm = _conv(dim), _batch_norm(dim)
        self.conv1 = conv(in_channels, out_channels, 3, stride=stride, padding=1, bias=False)
        self.bn1 = norm(out_channels)
        self.conv2 = conv(out_channels, out_channels, 3, stride=1, padding=1, bias=False)
        self.bn2 = norm(out_channels)
        self.shortcut = nn.Sequential()
        if stride != 1 or in_channels != out_channels:
            self.shortcut = nn.Sequential(
                conv(in_channels, out_channels, 1, stride=stride, bias=False), norm(out_channels)
            )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = torch.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return torch.relu(out + self.shortcut(x))


class ResNet18(nn.Module):
    """ResNet18 with four stages of widths ``(k, 2k, 4k, 8k)`` and two basic blocks each.

    The stem is one 3-wide convolution without pooling (the CIFAR variant), so
    short inputs such as MNIST-1D's 40 samples keep their resolution.

    Parameters
    ----------
    width : int
        k, the number of channels of the first stage.
    num_classes : int
        Number of outputs (logits).
    in_channels : int
        Channels of the input.
    dim : {1, 2}
        1 for inputs of shape ``(N, C, L)``, 2 for ``(N, C, H, W)``.
    """

    def __init__(self, width: int, num_classes: int, in_channels: int = 3, dim: int = 2):
        super().__init__()
        conv, norm = _conv(dim), _batch_norm(dim)
        self.widths = (width, 2 * width, 4 * width, 8 * width)
        self.stem = nn.Sequential(
            conv(in_channels, width, 3, stride=1, padding=1, bias=False), norm(width), nn.ReLU()
        )
        stages = []
        in_ch = width
        for index, out_ch in enumerate(self.widths):
            stride = 1 if index == 0 else 2
            stages.append(
                nn.Sequential(BasicBlock(in_ch, out_ch, stride, dim), BasicBlock(out_ch, out_ch, 1, dim))
            )
            in_ch = out_ch
        self.stages = nn.Sequential(*stages)
        self.pool = nn.AdaptiveAvgPool1d(1) if dim == 1 else nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(in_ch, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        features = self.stages(self.stem(x))  # (N, 8k, *spatial / 8)
        return self.fc(torch.flatten(self.pool(features), 1))  # (N, num_classes)


class PlainCNN(nn.Module):
    """Plain convolutional network with four stages of widths ``(k, 2k, 4k, 8k)``, no BatchNorm.

    Each stage is one 3-wide convolution and a ReLU; stages 2-4 halve the
    resolution with stride 2. A global average pool and a linear layer give
    the logits. It mirrors ResNet18's stage widths at a fraction of its cost
    (about 5-10x fewer seconds per epoch on MNIST-1D on one CPU thread).
    """

    def __init__(self, width: int, num_classes: int, in_channels: int = 1, dim: int = 1):
        super().__init__()
        conv = _conv(dim)
        self.widths = (width, 2 * width, 4 * width, 8 * width)
        layers: list[nn.Module] = []
        in_ch = in_channels
        for index, out_ch in enumerate(self.widths):
            layers += [conv(in_ch, out_ch, 3, stride=1 if index == 0 else 2, padding=1), nn.ReLU()]
            in_ch = out_ch
        self.features = nn.Sequential(*layers)
        self.pool = nn.AdaptiveAvgPool1d(1) if dim == 1 else nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(in_ch, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(torch.flatten(self.pool(self.features(x)), 1))


class MLP(nn.Module):
    """Fully connected ReLU network; hidden layers of ``width`` units each."""

    def __init__(self, width: int, num_classes: int, input_size: int, depth: int = 2):
        super().__init__()
        layers: list[nn.Module] = [nn.Flatten()]
        size = input_size
        for _ in range(depth):
            layers += [nn.Linear(size, width), nn.ReLU()]
            size = width
        layers.append(nn.Linear(size, num_classes))
        self.net = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)


def build(
    name: str,
    width: int,
    num_classes: int,
    input_shape: Sequence[int] = (1, 40),
    **options,
) -> nn.Module:
    """Build a width-scaled network.

    Parameters
    ----------
    name : {"cnn1d", "cnn", "resnet18", "resnet18_1d", "mlp"}
        ``"resnet18"``: 2D ResNet18 for images of shape ``(C, H, W)``;
        ``"resnet18_1d"``: the same with 1D convolutions for sequences of
        shape ``(C, L)``; ``"cnn1d"`` and ``"cnn"``: :class:`PlainCNN` in 1D
        and 2D; ``"mlp"``: a ReLU MLP on the flattened input.
    width : int
        The load knob k: ResNet18 and the plain CNN have stages of
        ``(k, 2k, 4k, 8k)`` channels; the MLP has ``k`` units per hidden layer.
    num_classes : int
        Number of output logits.
    input_shape : sequence of int
        Shape of one input without the batch dimension.
    **options
        ``depth`` (MLP hidden layers, default 2).

    Returns
    -------
    torch.nn.Module
        Maps inputs of shape ``(N, *input_shape)`` to logits ``(N, num_classes)``.

    Raises
    ------
    ParameterError
        If ``name`` is unknown, ``width`` or ``num_classes`` is not a positive
        int, or ``input_shape`` does not fit the model.
    """
    func = "build()"
    check_choice(name, "name", func, MODELS)
    width = check_int(width, "width", func, 1)
    num_classes = check_int(num_classes, "num_classes", func, 2)
    input_shape = tuple(int(s) for s in input_shape)

    if name == "mlp":
        depth = check_int(options.pop("depth", 2), "depth", func, 1)
        size = 1
        for s in input_shape:
            size *= s
        model: nn.Module = MLP(width, num_classes, size, depth)
    else:
        dim = 1 if name in ("resnet18_1d", "cnn1d") else 2
        expected = 1 + dim
        if len(input_shape) != expected:
            raise ParameterError(
                f"The 'input_shape' parameter of {func} must have {expected} entries "
                f"(channels and {dim} spatial size(s)) for {name!r}. Got {input_shape!r} instead."
            )
        network = ResNet18 if name.startswith("resnet18") else PlainCNN
        model = network(width, num_classes, in_channels=input_shape[0], dim=dim)
    if options:
        raise TypeError(f"build() got unexpected options for {name!r}: {sorted(options)}")
    return model


def count_parameters(model: nn.Module) -> int:
    """Return the number of trainable parameters."""
    return sum(p.numel() for p in model.parameters() if p.requires_grad)
