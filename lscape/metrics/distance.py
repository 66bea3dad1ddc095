"""Distance between two models in weight space."""

from __future__ import annotations

import math

import torch
from torch import nn

from lscape.validation import ParameterError, check_bool, check_module


@torch.no_grad()
def l2_distance(model_a: nn.Module, model_b: nn.Module, include_buffers: bool = False) -> float:
    """Return ``||theta_a - theta_b||_2`` over trainable parameters (float64 sum).

    Parameters
    ----------
    model_a, model_b : torch.nn.Module
        Models of one architecture.
    include_buffers : bool, default False
        Also include floating-point buffers (e.g. BatchNorm running statistics).

    Raises
    ------
    ParameterError
        If an argument has the wrong type, or the models' parameter names or shapes differ.
    """
    check_module(model_a, "model_a", "l2_distance()")
    check_module(model_b, "model_b", "l2_distance()")
    check_bool(include_buffers, "include_buffers", "l2_distance()")
    params_a = {n: p for n, p in model_a.named_parameters() if p.requires_grad}
    params_b = {n: p for n, p in model_b.named_parameters() if p.requires_grad}
    if include_buffers:
        params_a.update({n: b for n, b in model_a.named_buffers() if b.is_floating_point()})
        params_b.update({n: b for n, b in model_b.named_buffers() if b.is_floating_point()})
    if params_a.keys() != params_b.keys() or any(params_a[n].shape != params_b[n].shape for n in params_a):
        raise ParameterError("l2_distance(): the two models must have the same parameter names and shapes.")
    total = sum(float(((params_a[n].double() - params_b[n].double()) ** 2).sum()) for n in params_a)
    return math.sqrt(total)
