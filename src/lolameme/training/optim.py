"""AdamW over the model's own parameter groups, and the warmup-then-cosine schedule.

The schedule is a pure function of the step, so resuming needs no scheduler object:
the step in the checkpoint fixes the learning rate.
"""

from __future__ import annotations

import math

import torch

BETAS = (0.9, 0.95)  # nanoGPT's choice for small, fast-moving runs


def build_optimizer(
    model: torch.nn.Module, *, lr: float, weight_decay: float, device: torch.device
) -> torch.optim.AdamW:
    """AdamW with the groups ``model.param_groups`` chooses (no decay on norms, biases,
    Hyena filters); a model without that method gets decay on matrices only."""
    if hasattr(model, "param_groups"):
        groups = model.param_groups(weight_decay)
    else:
        params = [p for p in model.parameters() if p.requires_grad]
        groups = [
            {"params": [p for p in params if p.dim() >= 2], "weight_decay": weight_decay},
            {"params": [p for p in params if p.dim() < 2], "weight_decay": 0.0},
        ]
    return torch.optim.AdamW(groups, lr=lr, betas=BETAS, fused=device.type == "cuda")


def lr_at(step: int, *, lr: float, warmup: int, total: int, min_ratio: float) -> float:
    """Linear warmup over ``warmup`` steps, then cosine decay to ``min_ratio * lr`` at ``total``."""
    if step < warmup:
        return lr * (step + 1) / warmup
    progress = min(1.0, (step - warmup) / max(1, total - warmup))
    return lr * (min_ratio + (1 - min_ratio) * 0.5 * (1 + math.cos(math.pi * progress)))


def default_warmup(total: int) -> int:
    """5% of the run, at least one step: enough to keep early Adam steps small."""
    return max(1, round(0.05 * total))
