"""Loss-landscape metrics: Hessian, mode connectivity, CKA similarity and L2 distance."""

from lscape.metrics.connectivity import (
    BezierCurve,
    ConnectivityResult,
    CurveProfile,
    evaluate_curve,
    fit_curve,
    mc_score,
    mode_connectivity,
)
from lscape.metrics.distance import l2_distance
from lscape.metrics.hessian import HessianOperator, fixed_batch, hessian_eigenvalues, hessian_trace
from lscape.metrics.similarity import (
    ConstantRepresentationWarning,
    cka,
    mixup_inputs,
    model_cka,
    noisy_inputs,
    representations,
)

__all__ = [
    "BezierCurve",
    "ConnectivityResult",
    "ConstantRepresentationWarning",
    "CurveProfile",
    "HessianOperator",
    "cka",
    "evaluate_curve",
    "fit_curve",
    "fixed_batch",
    "hessian_eigenvalues",
    "hessian_trace",
    "l2_distance",
    "mc_score",
    "mixup_inputs",
    "mode_connectivity",
    "model_cka",
    "noisy_inputs",
    "representations",
]
