"""Zoology's recall-gap analysis: next-token loss on "AR hits" versus all other tokens.

Zoology (arXiv 2312.04927, sec. 3) splits a language model's next-token predictions
into **associative-recall hits**, tokens that complete a bigram already seen earlier
in the same sequence (having read ``a b ... a``, predict ``b``), and everything else;
the attention-vs-convolution perplexity gap on the Pile lives mostly in the hits.

Position t predicts ``targets[t]`` from ``inputs[: t + 1]``. It is an AR hit when some
earlier bigram of the input equals the one it completes::

    exists s < t:  inputs[s] == inputs[t]  and  inputs[s + 1] == targets[t]

(``s < t`` means the earlier bigram's second token, at ``s + 1 <= t``, is in context.)
For plain language modelling ``targets[t] = inputs[t + 1]``. Positions whose target is
negative (``-100``: no label) or masked out belong to neither group.

The test is vectorised without an L x L table: every in-context bigram gets an integer
code, the first position of each code is found with ``unique`` + ``scatter_reduce``,
and each prediction looks its own code up with ``searchsorted``: O(N log N) for N
tokens in the batch.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import torch
from torch import Tensor

GROUPS = ("ar_hits", "other")


def ar_hits(inputs: Tensor, targets: Tensor) -> Tensor:
    """(B, L) input ids and (B, L) target ids -> (B, L) bool: which predictions are AR hits."""
    if inputs.shape != targets.shape or inputs.dim() != 2:
        raise ValueError(
            f"inputs and targets must both be (B, L), got {tuple(inputs.shape)} "
            f"and {tuple(targets.shape)}"
        )
    batch, length = inputs.shape
    hits = torch.zeros(batch, length, dtype=torch.bool, device=inputs.device)
    if length < 2:
        return hits
    labelled = targets >= 0
    inputs, targets = inputs.long(), targets.long().clamp(min=0)
    vocab = int(max(int(inputs.max()), int(targets.max()))) + 1
    # one integer per (row, first token, second token): rows never share a code
    row = torch.arange(batch, device=inputs.device).unsqueeze(1) * vocab * vocab
    seen = (row + inputs[:, :-1] * vocab + inputs[:, 1:]).flatten()  # bigram at (s, s+1)
    asked = (row + inputs * vocab + targets).flatten()  # bigram completed at t
    position = torch.arange(length, device=inputs.device)
    codes, which = torch.unique(seen, return_inverse=True)  # sorted
    first = torch.full_like(codes, length).scatter_reduce(
        0, which, position[:-1].repeat(batch), reduce="amin"
    )
    slot = torch.searchsorted(codes, asked).clamp(max=codes.numel() - 1)
    found = (codes[slot] == asked) & (first[slot] < position.repeat(batch))
    return found.view(batch, length) & labelled


@dataclass
class _Group:
    loss: float = 0.0
    correct: int = 0
    count: int = 0

    def summary(self) -> dict[str, Any]:
        n = self.count
        return {
            "loss": self.loss / n if n else None,
            "acc": self.correct / n if n else None,
            "count": n,
        }


@dataclass
class RecallTally:
    """Running sums over batches; :meth:`summary` gives loss, accuracy and count per group.

    ``add`` takes per-position values aligned with ``targets`` (B, L): ``losses`` (the
    cross-entropy of each prediction) and ``correct`` (argmax == target), and an
    optional ``mask`` of the positions to count (default: every labelled target).
    """

    groups: dict[str, _Group] = field(default_factory=lambda: {g: _Group() for g in GROUPS})

    def add(
        self,
        inputs: Tensor,
        targets: Tensor,
        losses: Tensor,
        correct: Tensor,
        mask: Tensor | None = None,
    ) -> None:
        counted = targets >= 0 if mask is None else mask.bool() & (targets >= 0)
        hits = ar_hits(inputs, targets)
        for name, member in (("ar_hits", hits & counted), ("other", ~hits & counted)):
            group = self.groups[name]
            group.loss += float(losses.double()[member].sum())
            group.correct += int(correct.bool()[member].sum())
            group.count += int(member.sum())

    def summary(self) -> dict[str, dict[str, Any]]:
        """``{"ar_hits": {"loss", "acc", "count"}, "other": {...}}``; None where empty."""
        return {name: group.summary() for name, group in self.groups.items()}


def recall_split(
    inputs: Tensor,
    targets: Tensor,
    losses: Tensor,
    correct: Tensor,
    mask: Tensor | None = None,
) -> dict[str, dict[str, Any]]:
    """One batch's :meth:`RecallTally.summary`."""
    tally = RecallTally()
    tally.add(inputs, targets, losses, correct, mask)
    return tally.summary()
