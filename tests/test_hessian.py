"""Hessian metrics against references that share none of their code.

References: closed forms (least squares), dense float64 Hessians from
torch.func.hessian, central finite differences, and the PyHessian package.
"""

import copy

import numpy as np
import pytest
import torch
from torch import nn
from torch.func import functional_call

from lscape.metrics.hessian import HessianOperator, fixed_batch, hessian_eigenvalues, hessian_trace
from lscape.validation import ParameterError


def _dense_hessian(model, loss_fn, X, y):
    """Dense float64 Hessian of the mean loss by torch.func.hessian (the reference)."""
    model = copy.deepcopy(model).double().eval()
    names = [n for n, p in model.named_parameters()]
    shapes = [p.shape for p in model.parameters()]
    flat = torch.cat([p.detach().flatten() for p in model.parameters()])

    def loss_of(vector):
        params, offset = {}, 0
        for name, shape in zip(names, shapes):
            size = int(np.prod(shape))
            params[name] = vector[offset : offset + size].view(shape)
            offset += size
        return loss_fn(functional_call(model, params, (X.double(),)), y)

    return torch.func.hessian(loss_of)(flat)


def _small_mlp(seed=0, inputs=6, hidden=8, classes=3):
    torch.manual_seed(seed)
    return nn.Sequential(nn.Linear(inputs, hidden), nn.Tanh(), nn.Linear(hidden, classes))


def _data(n=40, inputs=6, classes=3, seed=0):
    generator = torch.Generator().manual_seed(seed)
    X = torch.randn(n, inputs, generator=generator)
    y = torch.randint(0, classes, (n,), generator=generator)
    return X, y


def test_hvp_matches_dense_float64_hessian():
    model, (X, y) = _small_mlp(), _data()
    loss_fn = nn.CrossEntropyLoss()
    dense = _dense_hessian(model, loss_fn, X, y)
    operator = HessianOperator(model, loss_fn, (X, y), dtype=torch.float64)
    v = torch.randn(operator.dim, dtype=torch.float64, generator=torch.Generator().manual_seed(1))
    assert torch.allclose(operator.matvec(v), dense @ v, rtol=1e-10, atol=1e-12)


def test_hvp_matches_finite_differences():
    model, (X, y) = _small_mlp(), _data()
    model = model.double()
    loss_fn = nn.CrossEntropyLoss()
    operator = HessianOperator(model, loss_fn, (X.double(), y))
    params = list(model.parameters())
    v = torch.randn(operator.dim, dtype=torch.float64, generator=torch.Generator().manual_seed(2))

    def gradient_at(shift):
        shifted = copy.deepcopy(model)
        offset = 0
        with torch.no_grad():
            for p in shifted.parameters():
                p += shift[offset : offset + p.numel()].view_as(p)
                offset += p.numel()
        loss = loss_fn(shifted(X.double()), y)
        return torch.cat([g.flatten() for g in torch.autograd.grad(loss, list(shifted.parameters()))])

    eps = 1e-5
    finite = (gradient_at(eps * v) - gradient_at(-eps * v)) / (2 * eps)
    assert len(params) == 4
    assert torch.allclose(operator.matvec(v), finite, rtol=1e-6, atol=1e-8)


def test_least_squares_closed_form():
    """For L(w) = mean((Xw + b - y)^2) the Hessian is (2/n) [X 1]^T [X 1]."""
    generator = torch.Generator().manual_seed(0)
    X = torch.randn(64, 5, generator=generator, dtype=torch.float64)
    y = torch.randn(64, generator=generator, dtype=torch.float64)
    model = nn.Linear(5, 1).double()
    loss_fn = lambda out, target: ((out.squeeze(1) - target) ** 2).mean()  # noqa: E731
    design = torch.cat([X, torch.ones(64, 1, dtype=torch.float64)], 1)
    exact = 2.0 / 64 * design.T @ design
    spectrum = torch.linalg.eigvalsh(exact)
    eig = hessian_eigenvalues(model, loss_fn, (X, y), k=2, max_iter=1000, tol=1e-10)
    trace = hessian_trace(model, loss_fn, (X, y), max_iter=2000, tol=1e-12, seed=0)
    assert eig.eigvals[0] == pytest.approx(spectrum[-1].item(), rel=1e-6)
    assert eig.eigvals[1] == pytest.approx(spectrum[-2].item(), rel=1e-4)
    assert trace.trace == pytest.approx(torch.trace(exact).item(), rel=0.05)  # 2,000 probes: ~1% std
    assert abs(trace.trace - torch.trace(exact).item()) < 4 * trace.stderr


def test_loader_equals_full_batch_unequal_batches():
    generator = torch.Generator().manual_seed(0)
    X = torch.randn(64, 4, generator=generator, dtype=torch.float64)
    y = torch.randn(64, generator=generator, dtype=torch.float64)
    model = nn.Linear(4, 1).double()
    loss_fn = lambda out, target: ((out.squeeze(1) - target) ** 2).mean()  # noqa: E731
    splits = [5, 20, 31, 8]
    loader = list(zip(torch.split(X, splits), torch.split(y, splits)))
    full = HessianOperator(model, loss_fn, (X, y))
    split = HessianOperator(model, loss_fn, loader)
    v = torch.randn(full.dim, dtype=torch.float64, generator=generator)
    assert torch.allclose(full.matvec(v), split.matvec(v), rtol=1e-12, atol=1e-14)
    top_full = hessian_eigenvalues(model, loss_fn, (X, y), tol=1e-8, max_iter=500).eigvals[0]
    top_split = hessian_eigenvalues(model, loss_fn, loader, tol=1e-8, max_iter=500).eigvals[0]
    assert top_split == pytest.approx(top_full, rel=1e-8)
    trace_full = hessian_trace(model, loss_fn, (X, y), max_iter=20, seed=3).trace
    trace_split = hessian_trace(model, loss_fn, loader, max_iter=20, seed=3).trace
    assert trace_split == pytest.approx(trace_full, rel=1e-10)


def _batchnorm_dropout_net():
    torch.manual_seed(0)
    net = nn.Sequential(nn.Linear(5, 7), nn.BatchNorm1d(7), nn.ReLU(), nn.Dropout(0.5), nn.Linear(7, 3))
    net.train()
    net(torch.randn(32, 5))  # give BatchNorm non-trivial running statistics
    return net


def test_eval_mode_bitwise_repeatable_and_buffers_unchanged():
    net = _batchnorm_dropout_net()
    X, y = _data(n=30, inputs=5)
    buffers = {k: v.clone() for k, v in net.named_buffers()}
    loss_fn = nn.CrossEntropyLoss()
    result = hessian_eigenvalues(net, loss_fn, (X, y))
    assert net.training  # mode restored
    for name, value in net.named_buffers():
        assert torch.equal(value, buffers[name]), name
    net.eval()
    operator = HessianOperator(net, loss_fn, (X, y))
    v = torch.randn(operator.dim, generator=torch.Generator().manual_seed(0))
    assert torch.equal(operator.matvec(v), operator.matvec(v))
    assert result.model_mode == "eval"


def test_stale_gradients_do_not_leak():
    model, (X, y) = _small_mlp(), _data()
    loss_fn = nn.CrossEntropyLoss()
    clean = hessian_eigenvalues(model, loss_fn, (X, y), seed=0).eigvals[0]
    loss_fn(model(X), y).mul(100).backward()  # leave large .grad behind, as training does
    stale = hessian_eigenvalues(model, loss_fn, (X, y), seed=0).eigvals[0]
    assert stale == clean


def test_unused_and_frozen_parameters():
    class WithExtras(nn.Module):
        def __init__(self):
            super().__init__()
            self.used = nn.Linear(4, 2)
            self.unused = nn.Linear(4, 2)
            self.frozen = nn.Linear(4, 4)
            self.frozen.requires_grad_(False)

        def forward(self, x):
            return self.used(self.frozen(x))

    torch.manual_seed(0)
    model = WithExtras().double()
    X, y = torch.randn(20, 4, dtype=torch.float64), torch.randint(0, 2, (20,))
    loss_fn = nn.CrossEntropyLoss()
    operator = HessianOperator(model, loss_fn, (X, y))
    assert operator.dim == 2 * 10  # used + unused; frozen excluded
    product = operator.matvec(torch.ones(operator.dim, dtype=torch.float64))
    assert torch.count_nonzero(product[10:]) == 0  # the unused layer contributes nothing
    reference = _dense_hessian(model.used, loss_fn, model.frozen(X).detach(), y)
    assert torch.allclose(product[:10], reference @ torch.ones(10, dtype=torch.float64))


def test_power_iteration_matches_dense_top_eigenvalue():
    model, (X, y) = _small_mlp(seed=3), _data(seed=3)
    loss_fn = nn.CrossEntropyLoss()
    spectrum = torch.linalg.eigvalsh(_dense_hessian(model, loss_fn, X, y))
    result = hessian_eigenvalues(model, loss_fn, (X, y), max_iter=1000, tol=1e-9, dtype=torch.float64)
    top = spectrum[spectrum.abs().argmax()].item()
    assert result.eigvals[0] == pytest.approx(top, rel=1e-5)
    assert result.num_matvecs <= 1000
    assert result.converged


def test_agrees_with_pyhessian():
    pyhessian = pytest.importorskip("pyhessian")
    model, (X, y) = _small_mlp(seed=5), _data(n=200, seed=5)
    loss_fn = nn.CrossEntropyLoss()
    torch.manual_seed(0)
    reference = pyhessian.hessian(copy.deepcopy(model), loss_fn, data=(X, y), cuda=False)
    top_reference = reference.eigenvalues(maxIter=100, tol=1e-3)[0][0]
    probes = np.array(reference.trace(maxIter=2000, tol=1e-9))
    ours = hessian_eigenvalues(model, loss_fn, (X, y))
    trace = hessian_trace(model, loss_fn, (X, y), max_iter=2000, tol=1e-9)
    assert ours.eigvals[0] == pytest.approx(top_reference, rel=1e-2)
    reference_stderr = probes.std(ddof=1) / np.sqrt(len(probes))
    assert abs(trace.trace - probes.mean()) < 4 * np.hypot(trace.stderr, reference_stderr)


def test_trace_stopping_rule_uses_absolute_mean():
    """A negative-definite Hessian: PyHessian 0.1's rule stops after two probes; ours continues."""
    generator = torch.Generator().manual_seed(0)
    X = torch.randn(64, 6, generator=generator, dtype=torch.float64)
    model = nn.Linear(6, 1, bias=False).double()
    loss_fn = lambda out, target: -((out.squeeze(1) - target) ** 2).mean()  # noqa: E731
    result = hessian_trace(model, loss_fn, (X, torch.zeros(64, dtype=torch.float64)), max_iter=100, tol=1e-3)
    assert result.trace < 0
    assert result.num_probes > 2


def test_fixed_batch_is_seeded():
    X, y = torch.arange(1000.0).view(-1, 1), torch.arange(1000)
    first = fixed_batch(X, y, 200, seed=1)
    again = fixed_batch(X, y, 200, seed=1)
    assert first[0].shape == (200, 1)
    assert torch.equal(first[1], again[1])
    assert not torch.equal(first[1], fixed_batch(X, y, 200, seed=2)[1])


@pytest.mark.parametrize(
    "options, pattern",
    [
        ({"k": 0}, r"'k' parameter of hessian_eigenvalues\(\) must be an int in \[1, inf\)"),
        ({"max_iter": 0}, r"'max_iter'"),
        ({"tol": 0}, r"'tol' .* \(0, inf\)"),
        ({"method": "arnoldi"}, r"'method' .* one of"),
        ({"k": 10_000}, r"'k' .* \[1, 83\]"),
    ],
)
def test_bad_arguments_messages(options, pattern):
    model, (X, y) = _small_mlp(), _data()
    with pytest.raises(ParameterError, match=pattern):
        hessian_eigenvalues(model, nn.CrossEntropyLoss(), (X, y), **options)


def test_bad_data_message():
    with pytest.raises(ParameterError, match="'data' parameter"):
        hessian_trace(_small_mlp(), nn.CrossEntropyLoss(), 42)


class QuadraticModel(nn.Module):
    """L(w) = 1/2 w^T A w for a fixed symmetric A: the Hessian is A exactly."""

    def __init__(self, matrix):
        super().__init__()
        self.matrix = matrix
        self.w = nn.Parameter(torch.ones(matrix.shape[0], dtype=matrix.dtype))

    def forward(self, x):
        return 0.5 * self.w @ self.matrix @ self.w + 0.0 * x.sum()


def _quadratic(eigenvalues, seed=0):
    generator = torch.Generator().manual_seed(seed)
    Q, _ = torch.linalg.qr(torch.randn(len(eigenvalues), len(eigenvalues), generator=generator, dtype=torch.float64))
    matrix = Q @ torch.diag(torch.tensor(eigenvalues, dtype=torch.float64)) @ Q.T
    model = QuadraticModel(matrix)
    data = (torch.zeros(1, 1, dtype=torch.float64), torch.zeros(1))
    return model, (lambda out, target: out), data


def test_lanczos_largest_algebraic_eigenvalues():
    spectrum = [5.0, 3.0, 2.0, -7.0] + [0.1 * i for i in range(20)]
    model, loss_fn, data = _quadratic(spectrum)
    result = hessian_eigenvalues(model, loss_fn, data, k=3, method="lanczos", tol=1e-10, max_iter=1000)
    np.testing.assert_allclose(result.eigvals, [5.0, 3.0, 2.0], rtol=1e-8)


def test_power_returns_largest_algebraic_when_dominant_is_negative():
    spectrum = [-9.0, 4.0, 1.0, 0.5, 0.2, 0.1]
    model, loss_fn, data = _quadratic(spectrum)
    result = hessian_eigenvalues(model, loss_fn, data, method="power", max_iter=2000, tol=1e-10)
    assert result.eigvals[0] == pytest.approx(4.0, rel=1e-6)


def test_power_does_not_stop_on_plus_minus_pair():
    """Eigenvalues +3 and -3: the Rayleigh quotient stays constant while the
    iterate flips. PyHessian 0.1 stops after two products with a wrong value."""
    pyhessian = pytest.importorskip("pyhessian")
    spectrum = [3.0, -3.0, 0.5, 0.2]
    model, loss_fn, data = _quadratic(spectrum, seed=1)
    torch.manual_seed(0)
    reference = pyhessian.hessian(copy.deepcopy(model), loss_fn, data=data, cuda=False)
    wrong = reference.eigenvalues(maxIter=100, tol=1e-3)[0][0]
    assert abs(wrong - 3.0) > 0.1  # the reference stops early on the oscillation
    result = hessian_eigenvalues(model, loss_fn, data, method="power", max_iter=300, tol=1e-4)
    assert result.eigvals[0] == pytest.approx(3.0, rel=1e-2)
    assert result.num_matvecs > 2
    lanczos = hessian_eigenvalues(model, loss_fn, data, method="lanczos", tol=1e-10, max_iter=500)
    assert lanczos.eigvals[0] == pytest.approx(3.0, rel=1e-8)


def test_dense_method_matches_eigvalsh():
    model, (X, y) = _small_mlp(seed=2), _data(seed=2)
    loss_fn = nn.CrossEntropyLoss()
    spectrum = torch.linalg.eigvalsh(_dense_hessian(model, loss_fn, X, y)).flip(0)[:4].numpy()
    result = hessian_eigenvalues(model, loss_fn, (X, y), k=4, method="dense", dtype=torch.float64)
    np.testing.assert_allclose(result.eigvals, spectrum, rtol=1e-8, atol=1e-10)
    assert result.num_matvecs == 83


def test_hutch_plus_plus_more_accurate_than_hutchinson():
    """Seeded: over 20 seeds the Hutch++ error at 99 products is below Hutchinson's at 99."""
    spectrum = [50.0, 30.0, 20.0] + [0.5] * 60
    model, loss_fn, data = _quadratic(spectrum, seed=3)
    exact = sum(spectrum)
    errors_hpp, errors_h = [], []
    for seed in range(20):
        hpp = hessian_trace(model, loss_fn, data, method="hutch++", max_iter=99, seed=seed)
        h = hessian_trace(model, loss_fn, data, method="hutchinson", max_iter=99, tol=1e-12, seed=seed)
        assert hpp.num_matvecs == 99
        errors_hpp.append(abs(hpp.trace - exact) / exact)
        errors_h.append(abs(h.trace - exact) / exact)
    assert np.mean(errors_hpp) < 0.01  # stated target: 1% mean relative error
    assert np.mean(errors_hpp) < 0.5 * np.mean(errors_h)


def test_slq_weights_and_moments():
    from lscape.metrics.hessian import hessian_density

    spectrum = np.linspace(-1.0, 4.0, 30)
    model, loss_fn, data = _quadratic(list(spectrum), seed=4)
    result = hessian_density(model, loss_fn, data, num_steps=30, num_runs=4, seed=0)
    np.testing.assert_allclose(result.weights.sum(axis=1), 1.0, rtol=1e-10)
    assert np.isrealobj(result.nodes)
    # With full Lanczos, the quadrature is exact for the first moment: E[v^T H v]/n = mean eigenvalue.
    first_moment = float((result.weights * result.nodes).sum(axis=1).mean())
    assert first_moment == pytest.approx(spectrum.mean(), abs=0.25)
    grid = np.linspace(-2, 5, 2001)
    assert np.trapezoid(result.density(grid, sigma=0.05), grid) == pytest.approx(1.0, rel=1e-3)


def test_func_backend_matches_autograd():
    from lscape.metrics.hessian import FuncHessianOperator

    net = _batchnorm_dropout_net().double().eval()
    X, y = _data(n=30, inputs=5)
    loss_fn = nn.CrossEntropyLoss()
    splits = [10, 20]
    loader = list(zip(torch.split(X.double(), splits), torch.split(y, splits)))
    reference = HessianOperator(net, loss_fn, loader)
    func = FuncHessianOperator(net, loss_fn, loader)
    block = torch.randn(reference.dim, 4, dtype=torch.float64, generator=torch.Generator().manual_seed(0))
    assert torch.allclose(func.matmat(block), reference.matmat(block), rtol=1e-10, atol=1e-12)
    assert func.num_matvecs == 4
    assert torch.allclose(func.matvec(block[:, 0]), reference.matvec(block[:, 0]), rtol=1e-10, atol=1e-12)


def test_func_backend_in_estimators():
    model, (X, y) = _small_mlp(seed=1), _data(seed=1)
    loss_fn = nn.CrossEntropyLoss()
    first = hessian_trace(model, loss_fn, (X, y), method="hutch++", max_iter=30, seed=2, dtype=torch.float64)
    second = hessian_trace(model, loss_fn, (X, y), method="hutch++", max_iter=30, seed=2, dtype=torch.float64,
                           backend="func")
    assert second.trace == pytest.approx(first.trace, rel=1e-9)


def test_density_plot_draws():
    import matplotlib

    matplotlib.use("Agg")
    from lscape.metrics.hessian import hessian_density

    model, loss_fn, data = _quadratic([1.0, 2.0, 3.0, 10.0], seed=0)
    result = hessian_density(model, loss_fn, data, num_steps=4)
    ax = result.plot()
    assert ax.get_yscale() == "log"
    assert len(ax.lines) == 1
