"""CKA and L2 distance against the paper's formula and textbook invariances."""

import copy
import warnings

import numpy as np
import pytest
import torch
from torch import nn

from lscape.metrics.distance import l2_distance
from lscape.metrics.similarity import (
    ConstantRepresentationWarning,
    cka,
    mixup_inputs,
    model_cka,
    noisy_inputs,
)
from lscape.validation import ParameterError


def _paper_cka(X, Y):
    """Eq. 3 of Yang et al. written out with an explicit centring matrix H."""
    m = X.shape[0]
    H = np.eye(m) - np.ones((m, m)) / m

    def cov(A, B):
        return np.trace(A @ A.T @ H @ B @ B.T @ H) / (m - 1) ** 2

    return cov(X, Y) / np.sqrt(cov(X, X) * cov(Y, Y))


@pytest.fixture
def features():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(50, 6))
    Y = X @ rng.normal(size=(6, 4)) + 0.5 * rng.normal(size=(50, 4))
    return X, Y


def test_matches_paper_formula(features):
    X, Y = features
    assert cka(X, Y) == pytest.approx(_paper_cka(X, Y), rel=1e-12)


def test_self_similarity_is_one(features):
    X, _ = features
    assert cka(X, X) == pytest.approx(1.0)
    assert cka(X, X, debiased=True) == pytest.approx(1.0, abs=1e-12)


def test_gram_input_same_value(features):
    X, Y = features
    assert cka(X @ X.T, Y @ Y.T, gram=True) == pytest.approx(cka(X, Y), rel=1e-12)
    assert cka(X @ X.T, Y @ Y.T, gram=True, debiased=True) == pytest.approx(cka(X, Y, debiased=True), rel=1e-12)


def test_invariant_to_orthogonal_transform_and_scaling(features):
    X, Y = features
    rng = np.random.default_rng(1)
    Q, _ = np.linalg.qr(rng.normal(size=(4, 4)))
    assert cka(X, 3.7 * Y @ Q) == pytest.approx(cka(X, Y), rel=1e-10)
    assert cka(X, Y, debiased=True) == pytest.approx(cka(X, 0.2 * Y @ Q, debiased=True), rel=1e-10)


def test_not_invariant_to_general_linear_map(features):
    """Negative control: an anisotropic rescaling of features changes linear CKA."""
    X, Y = features
    stretched = Y * np.array([10.0, 1.0, 0.1, 1.0])
    assert abs(cka(X, stretched) - cka(X, Y)) > 1e-3


def test_independent_representations_low(features):
    rng = np.random.default_rng(2)
    X = rng.normal(size=(2000, 5))
    Z = rng.normal(size=(2000, 5))
    assert cka(X, Z) < 0.02
    assert abs(cka(X, Z, debiased=True)) < 0.01


def test_biased_in_unit_interval():
    rng = np.random.default_rng(3)
    for _ in range(20):
        value = cka(rng.normal(size=(10, 3)), rng.normal(size=(10, 2)))
        assert 0.0 <= value <= 1.0


def test_too_few_samples_messages():
    rng = np.random.default_rng(0)
    with pytest.raises(ParameterError, match=r"debiased estimator needs m >= 4 samples\. Got m=3"):
        cka(rng.normal(size=(3, 2)), rng.normal(size=(3, 2)), debiased=True)
    with pytest.raises(ParameterError, match=r"biased estimator needs m >= 2 samples\. Got m=1"):
        cka(rng.normal(size=(1, 2)), rng.normal(size=(1, 2)))


def test_row_count_mismatch_message():
    with pytest.raises(ParameterError, match="same number of rows m. Got 5 and 4"):
        cka(np.ones((5, 2)), np.ones((4, 2)))


def test_constant_representation_nan_with_warning():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(20, 3))
    constant = np.tile([[1.0, 2.0]], (20, 1))
    with pytest.warns(ConstantRepresentationWarning):
        assert np.isnan(cka(X, constant))
    column = X.copy()
    column[:, 1] = 5.0  # one constant column is fine: the other columns vary
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert np.isfinite(cka(X, column))


def _mlp(seed):
    torch.manual_seed(seed)
    return nn.Sequential(nn.Linear(4, 9), nn.ReLU(), nn.Linear(9, 3))


def test_permuted_mlp_same_function_cka_one_l2_positive():
    model = _mlp(0)
    permuted = copy.deepcopy(model)
    order = torch.randperm(9, generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        permuted[0].weight.copy_(model[0].weight[order])
        permuted[0].bias.copy_(model[0].bias[order])
        permuted[2].weight.copy_(model[2].weight[:, order])
    inputs = torch.randn(100, 4)
    assert torch.allclose(model(inputs), permuted(inputs), atol=1e-6)
    assert model_cka(model, permuted, inputs) == pytest.approx(1.0, abs=1e-9)
    assert l2_distance(model, permuted) > 0.1


def test_identical_models_l2_zero_and_cka_one():
    model = _mlp(0)
    inputs = torch.randn(64, 4)
    assert l2_distance(model, copy.deepcopy(model)) == 0.0
    assert model_cka(model, copy.deepcopy(model), inputs) == pytest.approx(1.0)


def test_l2_distance_closed_form():
    a, b = _mlp(0), _mlp(0)
    with torch.no_grad():
        for p in b.parameters():
            p.add_(0.5)
    count = sum(p.numel() for p in a.parameters())
    assert l2_distance(a, b) == pytest.approx(0.5 * np.sqrt(count), rel=1e-6)


def test_l2_distance_skips_frozen_unless_buffers():
    a, b = _mlp(0), _mlp(1)
    a[0].requires_grad_(False)
    b[0].requires_grad_(False)
    expected = np.sqrt(sum(float(((p - q) ** 2).sum().detach()) for p, q in zip(a[2].parameters(), b[2].parameters())))
    assert l2_distance(a, b) == pytest.approx(expected, rel=1e-6)


def test_mixup_inputs_seeded_and_between_pairs():
    X = torch.stack([torch.zeros(3), torch.ones(3)])
    mixed = mixup_inputs(X, num_samples=200, alpha=16.0, seed=0)
    assert mixed.shape == (200, 3)
    assert torch.equal(mixed, mixup_inputs(X, num_samples=200, alpha=16.0, seed=0))
    assert float(mixed.min()) >= 0.0 and float(mixed.max()) <= 1.0
    between = mixed[(mixed > 0) & (mixed < 1)]
    assert abs(float(between.mean()) - 0.5) < 0.05  # Beta(16, 16) concentrates at 1/2


def test_noisy_inputs_magnitude():
    X = torch.zeros(10, 5)
    noisy = noisy_inputs(X, num_samples=300, magnitude=0.3, seed=0)
    assert float(noisy.abs().max()) <= 0.3
    assert float(noisy.std()) > 0.1


def test_mixup_bad_alpha_message():
    with pytest.raises(ParameterError, match=r"'alpha' parameter of mixup_inputs\(\) must be a real number in \(0, inf\)"):
        mixup_inputs(torch.zeros(4, 2), alpha=0.0)


def test_feature_and_gram_routes_agree():
    rng = np.random.default_rng(5)
    X = rng.normal(size=(300, 4)) + 3.0  # off-centre on purpose
    Y = X @ rng.normal(size=(4, 3)) + rng.normal(size=(300, 3))
    assert cka(X, Y) == pytest.approx(cka(X @ X.T, Y @ Y.T, gram=True), rel=1e-10)
    assert cka(X, Y) == pytest.approx(_paper_cka(X, Y), rel=1e-10)


def test_constant_representation_feature_route_nan():
    rng = np.random.default_rng(0)
    with pytest.warns(ConstantRepresentationWarning):
        assert np.isnan(cka(rng.normal(size=(200, 3)), np.ones((200, 2))))


def test_named_layer_representations():
    from lscape.metrics.similarity import representations

    model = _mlp(0)
    inputs = torch.randn(50, 4)
    hidden = representations(model, inputs, layer="1")
    assert hidden.shape == (50, 9)
    assert torch.allclose(hidden, torch.relu(model[0](inputs)).double())
    assert model_cka(model, copy.deepcopy(model), inputs, layer="0") == pytest.approx(1.0)


def test_unknown_layer_message():
    from lscape.metrics.similarity import representations

    with pytest.raises(ParameterError, match=r"'layer' parameter of representations\(\) must name a submodule.*Got 'fc9'"):
        representations(_mlp(0), torch.randn(5, 4), layer="fc9")


def test_same_inputs_for_both_models():
    """CKA with a copy differs from 1 only if the models saw different inputs."""
    model = _mlp(3)
    inputs = mixup_inputs(torch.randn(100, 4), num_samples=64, seed=1)
    assert model_cka(model, copy.deepcopy(model), inputs) == pytest.approx(1.0, abs=1e-12)
