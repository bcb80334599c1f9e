"""A causal cumulative-mean mixer: a complete lolameme plugin (docs/models.md).

y_t = out_proj(sigmoid(g_t) * mean(v_1, ..., v_t)), with v and g projections of u
(``gated=False``: no gate). Decoding keeps the running sum of v and the count.
"""

import torch
from torch import Tensor, nn

from lolameme.models import Mixer


class CumMean(Mixer):
    def __init__(
        self, d_model: int, layer_idx: int, n_layers: int, *, l_max: int, gated: bool = True
    ) -> None:
        super().__init__(d_model, layer_idx, n_layers, l_max=l_max)
        self.gated = gated
        self.in_proj = nn.Linear(d_model, 2 * d_model)  # value and gate
        self.out_proj = nn.Linear(d_model, d_model)

    def forward(self, u: Tensor) -> Tensor:  # (B, L, D) -> (B, L, D)
        v, g = self.in_proj(u).chunk(2, dim=-1)
        count = torch.arange(1, u.shape[1] + 1, device=u.device, dtype=v.dtype)
        return self.out_proj(self.gate(g) * v.cumsum(1) / count[:, None])

    def gate(self, g: Tensor) -> Tensor | float:
        return torch.sigmoid(g) if self.gated else 1.0

    def state_size(self, sequence_length: int) -> int:
        return self.d_model + 1

    def residual_projections(self) -> list[nn.Linear]:
        return [self.out_proj]  # GPT-2 init scales it down, like attention's c_proj

    # Optional: a recurrent state. Without these two, Mixer's defaults recompute forward.
    def prefill(self, u: Tensor, keep: int | None = None) -> tuple[Tensor, tuple[Tensor, int]]:
        v, _ = self.in_proj(u[:, :keep]).chunk(2, dim=-1)
        return self(u), (v.sum(1), v.shape[1])

    def step(self, u_t: Tensor, state: tuple[Tensor, int]) -> tuple[Tensor, tuple[Tensor, int]]:
        total, n = state
        v, g = self.in_proj(u_t).chunk(2, dim=-1)
        total, n = total + v, n + 1  # new objects: the old state stays usable
        return self.out_proj(self.gate(g) * total / n), (total, n)
