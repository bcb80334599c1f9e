"""AdamW over the model's own parameter groups, and the warmup-then-cosine schedule.

The schedule is a pure function of the step, so resuming needs no scheduler object:
the step in the checkpoint fixes the learning rate. Each parameter group follows it
from its own peak: ``lr``, or ``filter_lr`` for the implicit filters.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Any

import torch

BETAS = (0.9, 0.95)  # nanoGPT's choice for small, fast-moving runs
# Marks the groups that hold implicit-filter parameters (``--filter-lr``); torch keeps
# extra keys of a group, in ``param_groups`` and in the saved state alike.
FILTER_GROUP = "filter"


def build_optimizer(
    model: torch.nn.Module,
    *,
    lr: float,
    weight_decay: float,
    device: torch.device,
    filter_lr: float | None = None,
    filter_weight_decay: float | None = None,
) -> torch.optim.AdamW:
    """AdamW with the groups ``model.param_groups`` chooses (no decay on norms, biases,
    Hyena filters); a model without that method gets decay on matrices only.

    With ``filter_lr`` or ``filter_weight_decay`` given, the parameters the model's
    ``filter_parameters()`` names move to groups of their own with those settings
    (:func:`split_filter_groups`); with neither, the groups are exactly the model's.
    """
    if hasattr(model, "param_groups"):
        groups = model.param_groups(weight_decay)
    else:
        params = [p for p in model.parameters() if p.requires_grad]
        groups = [
            {"params": [p for p in params if p.dim() >= 2], "weight_decay": weight_decay},
            {"params": [p for p in params if p.dim() < 2], "weight_decay": 0.0},
        ]
    if filter_lr is not None or filter_weight_decay is not None:
        filters = model.filter_parameters() if hasattr(model, "filter_parameters") else []
        groups = split_filter_groups(
            groups, filters, lr=filter_lr, weight_decay=filter_weight_decay
        )
    return torch.optim.AdamW(groups, lr=lr, betas=BETAS, fused=device.type == "cuda")


def split_filter_groups(
    groups: list[dict[str, Any]],
    filters: Iterable[torch.nn.Parameter],
    *,
    lr: float | None,
    weight_decay: float | None,
) -> list[dict[str, Any]]:
    """Move ``filters`` out of ``groups`` into groups marked :data:`FILTER_GROUP`.

    A filter group takes ``lr`` and ``weight_decay`` where given; where not, the
    setting of the group the parameters came from (so ``weight_decay=None`` keeps the
    model's rule: 0 for Hyena's and BaseConv's filters, as safari's ``wd=0``). Filter
    parameters that end up with equal settings share one group; no group is left
    empty, so a model without filters keeps its groups unchanged.
    """
    is_filter = {id(p) for p in filters}
    rest: list[dict[str, Any]] = []
    moved: dict[str, dict[str, Any]] = {}
    for group in groups:
        params = list(group["params"])
        own = [p for p in params if id(p) not in is_filter]
        taken = [p for p in params if id(p) in is_filter]
        if own:
            rest.append({**group, "params": own})
        if taken:
            settings = {k: v for k, v in group.items() if k != "params"}
            if lr is not None:
                settings["lr"] = lr
            if weight_decay is not None:
                settings["weight_decay"] = weight_decay
            key = repr(sorted(settings.items()))
            moved.setdefault(key, {"params": [], **settings, FILTER_GROUP: True})
            moved[key]["params"] += taken
    return rest + list(moved.values())


def lr_at(step: int, *, lr: float, warmup: int, total: int, min_ratio: float) -> float:
    """Linear warmup over ``warmup`` steps, then cosine decay to ``min_ratio * lr`` at ``total``."""
    if step < warmup:
        return lr * (step + 1) / warmup
    progress = min(1.0, (step - warmup) / max(1, total - warmup))
    return lr * (min_ratio + (1 - min_ratio) * 0.5 * (1 + math.cos(math.pi * progress)))


def default_warmup(total: int) -> int:
    """5% of the run, at least one step: enough to keep early Adam steps small."""
    return max(1, round(0.05 * total))
