"""Mode connectivity against textbook facts: the line, fixed endpoints, recomputed BatchNorm."""

import copy

import numpy as np
import pytest
import torch
from torch import nn

from lscape.metrics.connectivity import BezierCurve, evaluate_curve, fit_curve, mc_score, mode_connectivity
from lscape.validation import ParameterError


def _mlp(seed, batch_norm=False):
    torch.manual_seed(seed)
    layers = [nn.Flatten(), nn.Linear(8, 16)]
    if batch_norm:
        layers.append(nn.BatchNorm1d(16))
    layers += [nn.ReLU(), nn.Linear(16, 3)]
    return nn.Sequential(*layers)


def _data(n=96, seed=0):
    generator = torch.Generator().manual_seed(seed)
    X = torch.randn(n, 8, generator=generator)
    y = (X[:, 0] > 0).long() + (X[:, 1] > 0.5).long()
    return X, y


def _train(model, X, y, epochs=30):
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    for _ in range(epochs):
        for begin in range(0, len(X), 16):
            loss = nn.functional.cross_entropy(model(X[begin : begin + 16]), y[begin : begin + 16])
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
    return model.eval()


def test_midpoint_bend_is_straight_line():
    a, b = _mlp(0), _mlp(1)
    curve = BezierCurve(a, b, num_bends=1)
    params_a, params_b = dict(a.named_parameters()), dict(b.named_parameters())
    for t in (0.0, 0.1, 0.5, 0.77, 1.0):
        point = curve.parameters_at(t)
        for name in params_a:
            line = (1 - t) * params_a[name] + t * params_b[name]
            assert torch.allclose(point[name], line, atol=1e-6), (t, name)


@pytest.mark.parametrize("num_bends", [1, 2, 3])
def test_curve_hits_endpoints(num_bends):
    a, b = _mlp(0), _mlp(1)
    curve = BezierCurve(a, b, num_bends=num_bends)
    for name, value in a.named_parameters():
        assert torch.equal(curve.parameters_at(0.0)[name], value.detach())
    for name, value in b.named_parameters():
        assert torch.equal(curve.parameters_at(1.0)[name], value.detach())


def test_bernstein_weights_sum_to_one():
    curve = BezierCurve(_mlp(0), _mlp(1), num_bends=3)
    for t in np.linspace(0, 1, 7):
        assert sum(curve.coefficients(t)) == pytest.approx(1.0)


def test_endpoints_never_updated():
    X, y = _data()
    a, b = _train(_mlp(0), X, y), _train(_mlp(1), X, y)
    before_a = {k: v.clone() for k, v in a.state_dict().items()}
    curve = fit_curve(a, b, X, y, epochs=5, batch_size=16, lr=0.05)
    for name, value in a.state_dict().items():
        assert torch.equal(value, before_a[name])
    trainable = {id(p) for p in curve.parameters() if p.requires_grad}
    assert trainable == {id(p) for p in curve.bends}
    for index in range(len(curve.names)):
        start = curve.control_point(0, index)
        assert not start.requires_grad
    moved = any(not torch.allclose(curve.control_point(1, i), 0.5 * (curve.control_point(0, i) + curve.control_point(2, i))) for i in range(len(curve.names)))
    assert moved  # training did change the bend


def test_curve_bends_only_in_optimiser_state_after_training():
    X, y = _data()
    a, b = _train(_mlp(0), X, y), _train(_mlp(1), X, y)
    curve = fit_curve(a, b, X, y, epochs=2, batch_size=32)
    for index in range(len(curve.names)):
        assert torch.equal(curve.control_point(0, index), dict(a.named_parameters())[curve.names[index]].detach())
        assert torch.equal(curve.control_point(2, index), dict(b.named_parameters())[curve.names[index]].detach())


def test_batchnorm_statistics_recomputed_at_endpoint():
    """At t = 0 the curve's loss equals endpoint A's after its BatchNorm statistics
    are recomputed over the same data by plain PyTorch (cumulative average)."""
    X, y = _data(n=96)
    a, b = _train(_mlp(0, batch_norm=True), X, y), _train(_mlp(1, batch_norm=True), X, y)
    curve = BezierCurve(a, b, num_bends=1)
    profile = evaluate_curve(curve, X, y, t=[0.0, 0.5, 1.0], batch_size=32)

    reference = copy.deepcopy(a)
    for module in reference.modules():
        if isinstance(module, nn.BatchNorm1d):
            module.reset_running_stats()
            module.momentum = None  # cumulative average; equal batch sizes make it sample-weighted
    reference.train()
    with torch.no_grad():
        for begin in range(0, 96, 32):
            reference(X[begin : begin + 32])
    reference.eval()
    with torch.no_grad():
        outputs = reference(X)
    expected_loss = nn.functional.cross_entropy(outputs, y).item()
    expected_error = 100.0 * (outputs.argmax(1) != y).float().mean().item()
    assert profile.loss[0] == pytest.approx(expected_loss, rel=1e-5)
    assert profile.error[0] == pytest.approx(expected_error)


def test_recompute_does_not_touch_endpoint_buffers():
    X, y = _data()
    a, b = _train(_mlp(0, batch_norm=True), X, y), _train(_mlp(1, batch_norm=True), X, y)
    buffers = {k: v.clone() for k, v in a.named_buffers()}
    mode_connectivity(a, b, X, y, epochs=1, batch_size=32)
    for name, value in a.named_buffers():
        assert torch.equal(value, buffers[name])


def test_identical_models_have_zero_mc():
    X, y = _data()
    a = _train(_mlp(0), X, y)
    result = mode_connectivity(a, copy.deepcopy(a), X, y, epochs=0)
    assert result.mc == 0.0
    assert result.linear_mc == 0.0
    assert np.allclose(result.profile.error, result.profile.error[0])


def test_mc_score_interior_barrier():
    mc, index = mc_score([10.0, 30.0, 50.0, 20.0, 10.0])
    assert mc == -40.0
    assert index == 2


def test_mc_score_positive_for_convex_profile():
    mc, index = mc_score([60.0, 40.0, 30.0, 40.0, 60.0])
    assert mc == 30.0
    assert index == 2


def test_mc_score_endpoint_option_reproduces_fake_barrier():
    """Flat interior, endpoints differ: interior-only gives the small true deviation;
    letting endpoints compete turns the endpoint gap into a fake barrier."""
    profile = [10.0, 14.5, 15.0, 15.5, 30.0]
    interior, _ = mc_score(profile)
    with_endpoints, index = mc_score(profile, include_endpoints=True)
    assert interior == pytest.approx(5.5)
    assert abs(with_endpoints) == pytest.approx(10.0)  # half the endpoint gap, not a property of the path
    assert index in (0, 4)


def test_trained_curve_lowers_barrier_of_line():
    X, y = _data(n=192, seed=1)
    a, b = _train(_mlp(0), X, y, epochs=40), _train(_mlp(7), X, y, epochs=40)
    result = mode_connectivity(a, b, X, y, epochs=30, batch_size=32, lr=0.05)
    assert result.profile.error[2] <= result.linear_profile.error[2] + 1e-9
    assert result.mc >= result.linear_mc


def test_bad_t_message():
    X, y = _data()
    with pytest.raises(ParameterError, match=r"'t' parameter of mode_connectivity\(\) must be an increasing list"):
        mode_connectivity(_mlp(0), _mlp(1), X, y, t=[0.0, 0.5], epochs=0)


def test_architecture_mismatch_message():
    other = nn.Sequential(nn.Flatten(), nn.Linear(8, 4), nn.ReLU(), nn.Linear(4, 3))
    with pytest.raises(ParameterError, match="same architecture"):
        BezierCurve(_mlp(0), other)


def test_polychain_with_midpoint_bend_is_line():
    a, b = _mlp(0), _mlp(1)
    chain = BezierCurve(a, b, num_bends=1, kind="polychain")
    params_a, params_b = dict(a.named_parameters()), dict(b.named_parameters())
    for t in (0.0, 0.3, 0.5, 0.9, 1.0):
        point = chain.parameters_at(t)
        for name in params_a:
            assert torch.allclose(point[name], (1 - t) * params_a[name] + t * params_b[name], atol=1e-6)


def test_polychain_passes_through_bend():
    a, b = _mlp(0), _mlp(1)
    chain = BezierCurve(a, b, num_bends=2, kind="polychain")
    with torch.no_grad():
        for bend in chain.bends:
            bend.add_(1.0)
    first = chain.parameters_at(1 / 3)
    for index, name in enumerate(chain.names):
        assert torch.allclose(first[name], chain.control_point(1, index))


def test_cubic_bezier_trains_and_scores():
    X, y = _data()
    a, b = _train(_mlp(0), X, y), _train(_mlp(1), X, y)
    result = mode_connectivity(a, b, X, y, num_bends=2, epochs=3, batch_size=32, t=np.linspace(0, 1, 9))
    assert result.profile.error.shape == (9,)
    assert 0.0 < result.t_star < 1.0


def test_pairs_average_and_spread():
    from lscape.metrics.connectivity import mode_connectivity_pairs

    X, y = _data()
    models = [_train(_mlp(seed), X, y, epochs=10) for seed in (0, 1, 2)]
    result = mode_connectivity_pairs(models, X, y, epochs=0)
    assert result.pairs == [(0, 1), (0, 2), (1, 2)]
    assert result.mc == pytest.approx(np.mean([r.mc for r in result.results]))
    assert np.isfinite(result.mc_std)
    with pytest.raises(ParameterError, match=r"'pairs' parameter .* distinct indices in \[0, 2\]\. Got \(0, 0\)"):
        mode_connectivity_pairs(models, X, y, pairs=[(0, 0)], epochs=0)


def test_bad_kind_message():
    with pytest.raises(ParameterError, match=r"'kind' parameter of BezierCurve\(\) must be one of \{'bezier', 'polychain'\}"):
        BezierCurve(_mlp(0), _mlp(1), kind="spline")
