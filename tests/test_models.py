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


@pytest.mark.parametrize("width", [1, 3])
def test_vgg11_convolution_widths(width):
    model = build("vgg11", width, 10, (3, 32, 32))
    convolutions = [m.out_channels for m in model.modules() if isinstance(m, nn.Conv2d)]
    assert convolutions == [width * m for m in (1, 2, 4, 4, 8, 8, 8, 8)]
    pools = [m for m in model.modules() if isinstance(m, nn.MaxPool2d)]
    assert len(pools) == 5  # 32 -> 1
    assert model(torch.randn(2, 3, 32, 32)).shape == (2, 10)


def test_vgg11_skips_pools_on_small_inputs():
    model = build("vgg11", 2, 10, (1, 8, 8))
    assert len([m for m in model.modules() if isinstance(m, nn.MaxPool2d)]) == 3  # 8 -> 4 -> 2 -> 1
    assert model(torch.randn(2, 1, 8, 8)).shape == (2, 10)


def test_vgg11_1d_on_mnist1d_shape():
    model = build("vgg11_1d", 2, 10, (1, 40))
    assert len([m for m in model.modules() if isinstance(m, nn.Conv1d)]) == 8
    assert model(torch.randn(4, 1, 40)).shape == (4, 10)


def _transformer(width=16, **options):
    return build("transformer", width, 30, (7 + 5,), src_vocab=20, src_len=7, **options)


def test_transformer_layers_heads_and_output_layout():
    from lscape.transformer import DecoderLayer, EncoderLayer

    model = _transformer()
    assert len([m for m in model.modules() if isinstance(m, EncoderLayer)]) == 6
    assert len([m for m in model.modules() if isinstance(m, DecoderLayer)]) == 6
    assert model.encoder[0].attention.heads == 8
    assert not any(isinstance(m, nn.Dropout) for m in model.modules())
    X = torch.randint(4, 20, (3, 12))
    assert model(X).shape == (3, 30, 5)  # (N, tgt_vocab, T), the layout CrossEntropyLoss takes


def test_transformer_decoder_is_causal():
    torch.manual_seed(0)
    model = _transformer().eval()
    X = torch.randint(4, 20, (2, 12))
    changed = X.clone()
    changed[:, 10] = 5 if int(X[0, 10]) != 5 else 6  # decoder position 3
    before, after = model(X), model(changed)
    torch.testing.assert_close(before[:, :, :3], after[:, :, :3])
    assert not torch.allclose(before[:, :, 3:], after[:, :, 3:])


def test_transformer_ignores_source_padding():
    torch.manual_seed(0)
    model = _transformer().eval()
    X = torch.randint(4, 20, (2, 12))
    X[:, 5:7] = 0  # the last two source positions are padding
    before = model(X)
    # Padding enters the encoder only through its position vectors; if attention
    # were not masked, changing them would change every output.
    model.positions[5:7] = torch.randn(2, 16)
    after = model(X)
    torch.testing.assert_close(before, after)
    X[:, 5] = 9  # a real word at position 5 does change the output
    assert not torch.allclose(model(X), after)


def test_transformer_hessian_vector_product_runs():
    from lscape.metrics.hessian import hessian_trace

    torch.manual_seed(0)
    model = _transformer()
    X = torch.randint(4, 20, (4, 12))
    y = torch.randint(4, 30, (4, 5))
    result = hessian_trace(model, nn.CrossEntropyLoss(), (X, y), max_iter=3, seed=0)
    assert result.trace == result.trace  # not NaN


def test_transformer_width_must_split_into_heads():
    with pytest.raises(ParameterError, match=r"The 'width' parameter of build\(\) must be a multiple of 2 \* heads = 16 .*Got 20 instead\."):
        _transformer(width=20)


def test_transformer_requires_vocabulary_options():
    with pytest.raises(ParameterError, match=r"'src_vocab' option of build\(\) is required"):
        build("transformer", 16, 30, (12,))
