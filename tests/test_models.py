"""Tests for the width-scaled models."""

import pytest
import torch
from torch import nn

from lscape.models import build, count_parameters
from lscape.validation import ParameterError


def _stage_widths(model):
    return [m.out_channels for m in model.modules() if isinstance(m, (nn.Conv1d, nn.Conv2d)) and m.kernel_size[0] == 3]


@pytest.mark.parametrize("width", [1, 3, 8])
def test_resnet18_stage_widths(width):
    model = build("resnet18", width, 10, (3, 32, 32))
    widths = sorted(set(_stage_widths(model)))
    assert widths == [width, 2 * width, 4 * width, 8 * width]
    blocks = [m for m in model.modules() if m.__class__.__name__ == "BasicBlock"]
    assert len(blocks) == 8
    assert model(torch.randn(2, 3, 32, 32)).shape == (2, 10)


def test_resnet18_1d_on_mnist1d_shape():
    model = build("resnet18_1d", 4, 10, (1, 40))
    assert any(isinstance(m, nn.BatchNorm1d) for m in model.modules())
    assert model(torch.randn(5, 1, 40)).shape == (5, 10)


def test_cnn1d_widths_and_no_batchnorm():
    model = build("cnn1d", 5, 10, (1, 40))
    assert model.widths == (5, 10, 20, 40)
    assert not any(isinstance(m, nn.modules.batchnorm._BatchNorm) for m in model.modules())
    assert model(torch.randn(3, 1, 40)).shape == (3, 10)


def test_cnn_2d_on_digits_shape():
    model = build("cnn", 4, 10, (1, 8, 8))
    assert model(torch.randn(3, 1, 8, 8)).shape == (3, 10)


def test_parameter_count_grows_with_width():
    counts = [count_parameters(build("cnn1d", k, 10)) for k in (2, 4, 8)]
    assert counts[0] < counts[1] < counts[2]


def test_mlp_hidden_width():
    model = build("mlp", 7, 3, (1, 8, 8), depth=3)
    hidden = [m.out_features for m in model.modules() if isinstance(m, nn.Linear)]
    assert hidden == [7, 7, 7, 3]


def test_bad_width_message():
    with pytest.raises(ParameterError, match=r"The 'width' parameter of build\(\) must be an int in \[1, inf\)\. Got 0 instead\."):
        build("cnn1d", 0, 10)


def test_bad_input_shape_message():
    with pytest.raises(ParameterError, match=r"'input_shape' .* 3 entries"):
        build("resnet18", 2, 10, (1, 40))


def test_unknown_model_message():
    with pytest.raises(ParameterError, match=r"'name' .* one of"):
        build("resnet50", 2, 10)
