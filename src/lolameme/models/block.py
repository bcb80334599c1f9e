"""A layer of the model: pre-norm ``x + mixer(LN(x))``, then ``x + MLP(LN(x))``.

When the residual stream arriving at a block is narrower or wider than the block
(the paper's 864 <-> 768 bridge around a GPT-2 layer inside Hyena), the block first
maps it through a linear adapter, ``proj_in``.
"""

from __future__ import annotations

from typing import Any

from torch import Tensor, nn

from lolameme.models.mixers import Mixer


class MLP(nn.Module):
    """GPT-2's feed-forward layer: Linear, GELU (tanh approximation, as GPT-2), Linear."""

    def __init__(self, width: int, hidden: int) -> None:
        super().__init__()
        self.c_fc = nn.Linear(width, hidden)
        self.gelu = nn.GELU(approximate="tanh")
        self.c_proj = nn.Linear(hidden, width)

    def forward(self, x: Tensor) -> Tensor:
        return self.c_proj(self.gelu(self.c_fc(x)))


class Block(nn.Module):
    def __init__(self, mixer: Mixer, mlp_width: int, *, d_in: int) -> None:
        super().__init__()
        width = mixer.d_model
        # adapter from the incoming residual stream's width; None when widths agree
        self.proj_in = nn.Linear(d_in, width) if d_in != width else None
        self.ln_1 = nn.LayerNorm(width)
        self.mixer = mixer
        self.ln_2 = nn.LayerNorm(width)
        self.mlp = MLP(width, mlp_width)

    def _ids(self, token_ids: Tensor | None) -> tuple[Tensor, ...]:
        """The extra argument of a mixer that reads token ids; nothing for the others."""
        if not self.mixer.needs_token_ids:
            return ()
        if token_ids is None:
            raise ValueError(f"mixer '{self.mixer.name}' needs the token ids")
        return (token_ids,)

    def forward(self, x: Tensor, token_ids: Tensor | None = None) -> Tensor:
        if self.proj_in is not None:
            x = self.proj_in(x)
        x = x + self.mixer(self.ln_1(x), *self._ids(token_ids))
        return x + self.mlp(self.ln_2(x))

    def prefill(
        self, x: Tensor, token_ids: Tensor | None = None, keep: int | None = None
    ) -> tuple[Tensor, Any]:
        """Like forward on (B, L, D_in); also return the mixer's decode state after the
        first ``keep`` positions (default: all)."""
        if self.proj_in is not None:
            x = self.proj_in(x)
        h, state = self.mixer.prefill(self.ln_1(x), *self._ids(token_ids), keep=keep)
        x = x + h
        return x + self.mlp(self.ln_2(x)), state

    def step(self, x_t: Tensor, state: Any, token_ids: Tensor | None = None) -> tuple[Tensor, Any]:
        """One position (B, D_in) -> (B, D), given and returning the mixer's state;
        ``token_ids`` (B,) are the ids at this position (for mixers that read them)."""
        if self.proj_in is not None:
            x_t = self.proj_in(x_t)
        h, state = self.mixer.step(self.ln_1(x_t), state, *self._ids(token_ids))
        x_t = x_t + h
        return x_t + self.mlp(self.ln_2(x_t)), state
