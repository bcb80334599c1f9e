"""The interface every sequence mixer implements.

As in zoology, every mixer has the same constructor shape,
``(d_model, layer_idx, n_layers, *, l_max, **its own keyword arguments)``, so a block
can hold any of them and a spec string can select them by name. A mixer maps
``(B, L, D) -> (B, L, D)`` causally, reports its recurrent state size, names the
output projections that GPT-2 init scales down, and can decode one token at a time.
"""

from __future__ import annotations

import inspect
from collections.abc import Mapping
from typing import Any, ClassVar

from torch import Tensor, nn

from lolameme.models.config import SpecError
from lolameme.models.ops import History


class Mixer(nn.Module):
    """Base class of sequence mixers, the package's own and plugins alike.

    Public interface (``docs/models.md``, "Add your own mixer"):

    - constructor ``(d_model, layer_idx, n_layers, *, l_max, **keyword-only knobs)``;
    - ``forward(u)``: (B, L, D) -> (B, L, D), causal;
    - ``state_size(L)``: numbers kept per sequence to decode the token after L;
    - optional ``prefill``/``step``: the defaults below recompute the forward pass over
      the cached input history, correct for any causal mixer, O(L) per token; mixers
      override them with a real recurrent state.

    Subclasses may set ``name`` (the registry key; plugins named by import path need
    none) and ``position_aware`` (whether the mixer itself tells positions apart, as
    convolutions do; when no layer of a model does, the model adds learned position
    embeddings). ``lolameme models check`` verifies the contract.
    """

    name: ClassVar[str] = ""
    position_aware: ClassVar[bool] = False
    # A mixer whose pattern depends on the tokens themselves (zoology's sparse attention)
    # sets this; the block then passes ``token_ids`` (B, L) to forward and prefill and
    # the new ids (B,) to step, as a last positional argument. Others never see ids.
    needs_token_ids: ClassVar[bool] = False

    def __init__(self, d_model: int, layer_idx: int, n_layers: int, *, l_max: int) -> None:
        super().__init__()
        self.d_model = d_model
        self.layer_idx = layer_idx
        self.n_layers = n_layers
        self.l_max = l_max

    # --- what a mixer reports -------------------------------------------------------
    def state_size(self, sequence_length: int) -> int:
        """Numbers kept per sequence to decode the next token after ``sequence_length``."""
        raise NotImplementedError

    def num_parameters(self) -> int:
        return sum(p.numel() for p in self.parameters())

    def residual_projections(self) -> list[nn.Linear]:
        """Linear layers writing into the residual stream (GPT-2 init scales them down)."""
        return []

    def no_weight_decay(self) -> list[nn.Parameter]:
        """Parameters never decayed even if >= 2-dim (Hyena's implicit filter)."""
        return []

    def filter_parameters(self) -> list[nn.Parameter]:
        """The parameters of the mixer's implicit long filter (positions -> MLP -> taps).

        The trainer can optimise them with their own learning rate and weight decay
        (``--filter-lr``, ``--filter-weight-decay``), as safari trains Hyena's filter with
        its own optimiser settings; a mixer without an implicit filter has none.
        """
        return []

    # --- configuration checks -------------------------------------------------------
    @classmethod
    def check_config(cls, d_model: int, kwargs: Mapping[str, Any], *, where: str) -> None:
        """Raise SpecError when ``kwargs`` or ``d_model`` cannot build this mixer."""
        params = inspect.signature(cls.__init__).parameters.values()
        accepted = {p.name for p in params if p.kind is p.KEYWORD_ONLY} - {"l_max"}
        unknown = sorted(set(kwargs) - accepted)
        if unknown:
            raise SpecError(
                f"{where}: mixer '{cls.name or cls.__name__}' does not accept {', '.join(unknown)} "
                f"(it accepts: {', '.join(sorted(accepted)) or 'nothing'})"
            )
        problem = cls.config_problem(d_model, kwargs)
        if problem:
            raise SpecError(f"{where}: mixer '{cls.name or cls.__name__}': {problem}")

    @classmethod
    def config_problem(cls, d_model: int, kwargs: Mapping[str, Any]) -> str | None:
        """A mixer-specific reason why this width/kwargs combination is invalid, if any."""
        return None

    # --- incremental decoding (generic fallback) ------------------------------------
    def prefill(self, u: Tensor, keep: int | None = None) -> tuple[Tensor, Any]:
        """Forward over a sequence (B, L, D); also return the state for :meth:`step`
        after its first ``keep`` positions (default: all of them).

        ``keep`` lets one parallel pass both score a known continuation (the outputs
        past ``keep``, teacher-forced) and start decoding right after the prompt.
        ``step`` returns a new state and leaves the one it was given usable.
        """
        return self(u), History(u[:, :keep], dim=1)

    def step(self, u_t: Tensor, state: Any) -> tuple[Tensor, Any]:
        """The output for one new position (B, D) and the updated state."""
        history = state.append(u_t)
        return self(history.values)[:, -1], history


# -- checks shared by the mixers' config_problem: kwargs come from JSON and YAML, so a
# string or a bool where a number belongs must be an error line, not a TypeError later


def is_int(value: object) -> bool:
    """An integer, and not a bool (``True`` is an ``int`` to Python, not to a user)."""
    return isinstance(value, int) and not isinstance(value, bool)


def is_real(value: object) -> bool:
    """A real number (int or float), not a bool."""
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def dt_range_problem(dt_min: object, dt_max: object) -> str | None:
    """The problem with an SSM's step-size range, if any: numbers with 0 < min <= max."""
    if not (is_real(dt_min) and is_real(dt_max) and 0 < dt_min <= dt_max):  # type: ignore[operator]
        return f"need numbers 0 < dt_min <= dt_max, got dt_min={dt_min!r}, dt_max={dt_max!r}"
    return None
