"""Width-scaled networks: ResNet18, VGG11 and a plain CNN in 1D and 2D, an MLP, and a Transformer."""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from lscape.validation import ParameterError, check_choice, check_int, check_module, parameter_error

MODELS = ("cnn1d", "cnn", "resnet18", "resnet18_1d", "vgg11", "vgg11_1d", "mlp", "transformer")
ONE_DIMENSIONAL = ("cnn1d", "resnet18_1d", "vgg11_1d")
# The keyword options that build() accepts for each model; the others accept none.
MODEL_OPTIONS = {"mlp": ("depth",), "transformer": ("src_vocab", "src_len", "layers", "heads")}


def _check_sizes(func: str, **sizes) -> None:
    """Check that every keyword value is an int >= 1 (channel counts, widths, class counts)."""
    for name, value in sizes.items():
        check_int(value, name, func, 1)


def _check_dim(dim, func: str) -> int:
    return check_choice(dim, "dim", func, (1, 2))


def _check_shape(input_shape, func: str) -> tuple[int, ...]:
    """Return ``input_shape`` as a tuple of ints >= 1."""
    if isinstance(input_shape, (str, bytes)) or not isinstance(input_shape, Sequence) or not input_shape:
        raise parameter_error(func, "input_shape", "a non-empty sequence of ints >= 1", input_shape)
    return tuple(check_int(size, f"input_shape[{i}]", func, 1) for i, size in enumerate(input_shape))


def _conv(dim: int):
    return nn.Conv1d if dim == 1 else nn.Conv2d


def _batch_norm(dim: int):
    return nn.BatchNorm1d if dim == 1 else nn.BatchNorm2d


class BasicBlock(nn.Module):
    """Two 3-wide convolutions with BatchNorm and an identity (or 1-wide projection) shortcut."""

    def __init__(self, in_channels: int, out_channels: int, stride: int, dim: int):
        super().__init__()
        _check_sizes("BasicBlock()", in_channels=in_channels, out_channels=out_channels, stride=stride)
        _check_dim(dim, "BasicBlock()")
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
        _check_sizes("ResNet18()", width=width, num_classes=num_classes, in_channels=in_channels)
        _check_dim(dim, "ResNet18()")
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
        _check_sizes("PlainCNN()", width=width, num_classes=num_classes, in_channels=in_channels)
        _check_dim(dim, "PlainCNN()")
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


class VGG11(nn.Module):
    """VGG11 with BatchNorm: eight 3-wide convolutions of widths ``(k, 2k, 4k, 4k, 8k, 8k, 8k, 8k)``.

    Max pooling (stride 2) follows convolutions 1, 2, 4, 6 and 8, as in VGG
    configuration A, but a pool is skipped once the resolution is down to 1,
    so short or small inputs (MNIST-1D's 40 samples, 8x8 digits) still fit.
    A global average pool and one linear layer give the logits.
    """

    PLAN = (1, "M", 2, "M", 4, 4, "M", 8, 8, "M", 8, 8, "M")  # multiples of k; "M": max pool

    def __init__(self, width: int, num_classes: int, input_shape: Sequence[int], dim: int = 2):
        super().__init__()
        _check_sizes("VGG11()", width=width, num_classes=num_classes)
        _check_dim(dim, "VGG11()")
        input_shape = _check_shape(input_shape, "VGG11()")
        if len(input_shape) != 1 + dim:
            raise parameter_error("VGG11()", "input_shape", f"(channels, *spatial) with {dim} spatial size(s)",
                                  input_shape)
        conv, norm = _conv(dim), _batch_norm(dim)
        pool = nn.MaxPool1d if dim == 1 else nn.MaxPool2d
        in_ch, size = input_shape[0], min(input_shape[1:])
        layers: list[nn.Module] = []
        for item in self.PLAN:
            if item == "M":
                if size >= 2:
                    layers.append(pool(2))
                    size //= 2
                continue
            out_ch = item * width
            layers += [conv(in_ch, out_ch, 3, padding=1, bias=False), norm(out_ch), nn.ReLU()]
            in_ch = out_ch
        self.features = nn.Sequential(*layers)
        self.pool = nn.AdaptiveAvgPool1d(1) if dim == 1 else nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(in_ch, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(torch.flatten(self.pool(self.features(x)), 1))  # (N, num_classes)


class MLP(nn.Module):
    """Fully connected ReLU network; hidden layers of ``width`` units each."""

    def __init__(self, width: int, num_classes: int, input_size: int, depth: int = 2):
        super().__init__()
        _check_sizes("MLP()", width=width, num_classes=num_classes, input_size=input_size, depth=depth)
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
    name : str
        ``"resnet18"``: 2D ResNet18 for images of shape ``(C, H, W)``;
        ``"resnet18_1d"``: the same with 1D convolutions for sequences of
        shape ``(C, L)``; ``"vgg11"`` and ``"vgg11_1d"``: :class:`VGG11`;
        ``"cnn1d"`` and ``"cnn"``: :class:`PlainCNN` in 1D and 2D;
        ``"mlp"``: a ReLU MLP on the flattened input; ``"transformer"``:
        :class:`lscape.transformer.Seq2SeqTransformer` for token inputs of
        shape ``(S + T,)``.
    width : int
        The load knob k: ResNet18 and the plain CNN have stages of
        ``(k, 2k, 4k, 8k)`` channels, VGG11 convolutions of
        ``(k, 2k, 4k, 4k, 8k, 8k, 8k, 8k)``; the MLP has ``k`` units per
        hidden layer; the Transformer's embedding dimension is ``k`` (a
        multiple of its 8 heads).
    num_classes : int
        Number of output logits (the Transformer: target vocabulary size).
    input_shape : sequence of int
        Shape of one input without the batch dimension.
    **options
        ``depth`` (MLP hidden layers, default 2); ``src_vocab`` and
        ``src_len`` (required by the Transformer), ``layers`` (default 6) and
        ``heads`` (default 8).

    Returns
    -------
    torch.nn.Module
        Maps inputs of shape ``(N, *input_shape)`` to logits ``(N, num_classes)``
        (the Transformer: ``(N, num_classes, T)``).

    Raises
    ------
    ParameterError
        If ``name`` is unknown, ``width`` or ``num_classes`` is not a positive
        int, or ``input_shape`` or an option does not fit the model.
    """
    func = "build()"
    check_choice(name, "name", func, MODELS)
    width = check_int(width, "width", func, 1)
    num_classes = check_int(num_classes, "num_classes", func, 2)
    input_shape = _check_shape(input_shape, func)
    unknown = sorted(set(options) - set(MODEL_OPTIONS.get(name, ())))
    if unknown:
        raise TypeError(f"build() got unexpected options for {name!r}: {unknown}")

    if name == "mlp":
        depth = check_int(options.pop("depth", 2), "depth", func, 1)
        size = 1
        for s in input_shape:
            size *= s
        model: nn.Module = MLP(width, num_classes, size, depth)
    elif name == "transformer":
        model = _build_transformer(width, num_classes, input_shape, options)
    else:
        dim = 1 if name in ONE_DIMENSIONAL else 2
        expected = 1 + dim
        if len(input_shape) != expected:
            raise ParameterError(
                f"The 'input_shape' parameter of {func} must have {expected} entries "
                f"(channels and {dim} spatial size(s)) for {name!r}. Got {input_shape!r} instead."
            )
        if name.startswith("vgg11"):
            model = VGG11(width, num_classes, input_shape, dim=dim)
        else:
            network = ResNet18 if name.startswith("resnet18") else PlainCNN
            model = network(width, num_classes, in_channels=input_shape[0], dim=dim)
    if options:
        raise TypeError(f"build() got unexpected options for {name!r}: {sorted(options)}")
    return model


def _build_transformer(width: int, num_classes: int, input_shape: tuple, options: dict) -> nn.Module:
    from lscape.transformer import Seq2SeqTransformer

    func = "build()"
    for required in ("src_vocab", "src_len"):
        if required not in options:
            raise ParameterError(
                f"The {required!r} option of {func} is required for 'transformer'; the translation "
                "data set provides it in Dataset.model_options."
            )
    heads = check_int(options.pop("heads", 8), "heads", func, 1)
    layers = check_int(options.pop("layers", 6), "layers", func, 1)
    src_vocab = check_int(options.pop("src_vocab"), "src_vocab", func, 5)
    src_len = check_int(options.pop("src_len"), "src_len", func, 1)
    if width % heads or width // heads % 2:
        raise ParameterError(
            f"The 'width' parameter of {func} must be a multiple of 2 * heads = {2 * heads} for "
            f"'transformer' (the embedding dimension splits into {heads} heads of even size). "
            f"Got {width} instead."
        )
    if len(input_shape) != 1 or input_shape[0] <= src_len:
        raise ParameterError(
            f"The 'input_shape' parameter of {func} must be (S + T,) with S = src_len = {src_len} "
            f"for 'transformer'. Got {input_shape!r} instead."
        )
    return Seq2SeqTransformer(width, src_vocab, num_classes, src_len, layers=layers, heads=heads)


def count_parameters(model: nn.Module) -> int:
    """Return the number of trainable parameters."""
    check_module(model, "model", "count_parameters()")
    return sum(p.numel() for p in model.parameters() if p.requires_grad)
