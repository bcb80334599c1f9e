"""A whole model from outside the package, as mad-lab takes any ``nn.Module``.

``--model my_pkg.models:build`` names a callable ``(vocab_size, max_seq_len, scale) ->
nn.Module`` whose module maps token ids (B, L) to logits (B, L, V). :class:`ExternalModel`
wraps that module in the interface training and evaluation use: ``forward``, a
recomputing ``prefill``/``step`` (the state is the token history; each step re-runs the
forward pass, O(L) per token, correct for any causal model), ``config_dict``.
"""

from __future__ import annotations

from typing import Any

from torch import Tensor, nn

from lolameme.models.config import ExternalModelConfig, SpecError
from lolameme.models.ops import History
from lolameme.models.plugins import import_object


class ExternalModel(nn.Module):
    """The module a builder returns (``self.net``), checked and made decodable."""

    def __init__(self, config: ExternalModelConfig) -> None:
        super().__init__()
        self.config = config
        build = import_object(config.builder, where=f"spec '{config.builder}'")
        try:
            net = build(config.vocab_size, config.max_seq_len, config.scale)
        except Exception as exc:  # user code: report it as a spec problem, in one line
            raise SpecError(
                f"spec '{config.builder}': building the model failed: {type(exc).__name__}: {exc}"
            ) from None
        if not isinstance(net, nn.Module):
            raise SpecError(
                f"spec '{config.builder}': the builder returned {type(net).__name__!r}, "
                "not a torch.nn.Module"
            )
        self.net = net

    def forward(self, input_ids: Tensor) -> Tensor:
        """Token ids (B, L) -> next-token logits (B, L, V), shape checked."""
        logits = self.net(input_ids)
        want = (*input_ids.shape, self.config.vocab_size)
        if not isinstance(logits, Tensor) or tuple(logits.shape) != want:
            got = tuple(logits.shape) if isinstance(logits, Tensor) else type(logits).__name__
            raise ValueError(
                f"model '{self.config.builder}' returned {got} for ids of shape "
                f"{tuple(input_ids.shape)}; expected logits of shape {want} (B, L, V)"
            )
        return logits

    # --- decoding by recomputation -------------------------------------------------------
    def prefill(self, input_ids: Tensor, keep: int | None = None) -> tuple[Tensor, History]:
        """Logits (B, L, V) and the history of the first ``keep`` ids (default: all)."""
        return self(input_ids), History(input_ids[:, :keep], dim=1)

    def step(self, token_ids: Tensor, state: History) -> tuple[Tensor, History]:
        """Append one id per row (B,); the logits (B, V) after it, from a full forward."""
        history = state.append(token_ids)
        return self(history.values)[:, -1], history

    # --- what the model reports ----------------------------------------------------------
    @property
    def spec(self) -> str:
        return self.config.builder

    @property
    def vocab_size(self) -> int:
        return self.config.vocab_size

    @property
    def max_seq_len(self) -> int:
        return self.config.max_seq_len

    def num_parameters(self) -> int:
        return sum(p.numel() for p in self.parameters())

    def state_size(self, sequence_length: int | None = None) -> int:
        """What decoding keeps: the token ids seen so far (the model's own internals are
        recomputed, not kept)."""
        return self.config.max_seq_len if sequence_length is None else sequence_length

    def config_dict(self) -> dict[str, Any]:
        return self.config.model_dump(mode="json")

    @classmethod
    def from_config_dict(cls, data: dict[str, Any]) -> ExternalModel:
        return cls(ExternalModelConfig.model_validate(data))
