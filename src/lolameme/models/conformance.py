"""The conformance check every mixer must pass: ``lolameme models check SPEC``.

For each distinct mixer of a spec (built-in or plugin), with large random weights (the
small GPT-2 init makes outputs nearly constant, which would hide a leak under any
tolerance):

- **causality**: changing the inputs from position t on leaves outputs before t
  unchanged, at several lengths and several t;
- **decoding**: ``prefill`` + ``step`` reproduce ``forward`` (from the first position,
  mid-sequence, and with ``keep``), and a state stays usable after ``step`` (after a
  step with another input, stepping from it again gives the same output);
- **gradients**: a backward pass reaches every trainable parameter (non-zero, finite);
- **shapes**: batch 1 and ragged lengths up to ``l_max`` give (B, L, D) finite outputs,
  and each row of a batch equals that row run alone;
- **bf16**: a forward under bf16 autocast runs and stays finite, where the device
  supports bf16 (CUDA with bf16; PyTorch's CPU autocast otherwise);
- **state size**: ``state_size(l_max)`` next to the numbers the decoding state after
  ``l_max`` positions really holds per sequence: what grows from batch 1 to batch 2, so
  tensors shared by the batch (a long filter's taps) do not count, and a complex number
  counts as two reals (reported, not judged: a plugin may count differently; the
  registered mixers agree, a test says so).

A spec that names a whole-model builder gets the same checks on the model itself (ids
in, logits out), with the builder's own initialisation.

The test suite runs the same checks over every registered mixer
(``tests/models/test_conformance.py``).
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import torch
from torch import Tensor, nn

from lolameme.errors import LolamemeError
from lolameme.models.config import ModelConfig
from lolameme.models.external import ExternalModel
from lolameme.models.mixers import Mixer
from lolameme.models.ops import History

CHECKS = ("causality", "decoding", "gradients", "shapes", "bf16")
WEIGHT_STD = 0.3  # scrambled weights: large enough that a leak cannot hide
ID_VOCAB = 7  # token ids for mixers that read them: a small vocabulary repeats often
CAUSAL_RTOL = 1e-5  # FFT round-off is not leakage; relative to the output's scale
DECODE_RTOL = 1e-4
MODEL_VOCAB = 16  # vocabulary of a whole model built for the check


class ConformanceError(LolamemeError):
    """A mixer failed a conformance check (the message names the mixer and the check)."""


@dataclass
class Check:
    """One check's outcome: ``ok`` is None when it did not apply (bf16 unsupported)."""

    name: str
    ok: bool | None
    detail: str = ""


@dataclass
class MixerReport:
    """All checks of one mixer configuration, and the layers of the spec it stands for
    (a whole model: no width, no layers)."""

    mixer: str
    width: int | None
    kwargs: dict[str, Any]
    layers: list[int]
    checks: list[Check] = field(default_factory=list)
    state_size: int | None = None
    state_kept: int | None = None

    @property
    def ok(self) -> bool:
        return all(c.ok is not False for c in self.checks)

    def failures(self) -> list[Check]:
        return [c for c in self.checks if c.ok is False]


def scramble(mixer: Mixer, seed: int) -> Mixer:
    """Every parameter ~ N(0, WEIGHT_STD^2), from a seeded generator."""
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for p in mixer.parameters():
            p.copy_((torch.randn(p.shape, generator=gen) * WEIGHT_STD).to(p.dtype))
    return mixer


def build_mixer(
    cls: type[Mixer],
    width: int,
    kwargs: dict[str, Any],
    *,
    l_max: int,
    layer_idx: int = 0,
    n_layers: int = 2,
    seed: int = 0,
) -> Mixer:
    """A mixer with scrambled weights, in eval mode (the checks switch modes as needed)."""
    cls.check_config(width, kwargs, where=f"layer {layer_idx}")
    torch.manual_seed(seed)
    return scramble(cls(width, layer_idx, n_layers, l_max=l_max, **kwargs), seed).eval()


class _Probe:
    """Random inputs (and token ids) for one mixer, and calls that pass ids if it reads them."""

    input_grad = True  # a mixer's input is differentiable; a whole model's ids are not

    def __init__(self, mixer: nn.Module, seed: int) -> None:
        self.mixer = mixer
        self.gen = torch.Generator().manual_seed(seed)
        self.width = int(getattr(mixer, "d_model", 0))

    def inputs(self, batch: int, length: int) -> tuple[Tensor, Tensor]:
        u = torch.randn(batch, length, self.width, generator=self.gen)
        ids = torch.randint(0, ID_VOCAB, (batch, length), generator=self.gen)
        return u, ids

    def ids(self, ids: Tensor) -> tuple[Tensor, ...]:
        return (ids,) if self.mixer.needs_token_ids else ()

    def forward(self, u: Tensor, ids: Tensor) -> Tensor:
        return self.mixer(u, *self.ids(ids))

    def prefill(self, u: Tensor, ids: Tensor, keep: int | None = None) -> tuple[Tensor, Any]:
        return self.mixer.prefill(u, *self.ids(ids), keep=keep)

    def step(self, u_t: Tensor, ids_t: Tensor, state: Any) -> tuple[Tensor, Any]:
        return self.mixer.step(u_t, state, *self.ids(ids_t))

    def state_size(self, length: int) -> int:
        return int(self.mixer.state_size(length))


class _ModelProbe(_Probe):
    """The same checks on a whole model: token ids in, logits (B, L, V) out. ``u`` is a
    stand-in of the logits' shape, so the shape checks compare like with like."""

    input_grad = False

    def __init__(self, model: ExternalModel, seed: int) -> None:
        super().__init__(model, seed)
        self.width = model.vocab_size

    def forward(self, u: Tensor, ids: Tensor) -> Tensor:
        return self.mixer(ids.to(self.device))

    def prefill(self, u: Tensor, ids: Tensor, keep: int | None = None) -> tuple[Tensor, Any]:
        return self.mixer.prefill(ids.to(self.device), keep=keep)

    def step(self, u_t: Tensor, ids_t: Tensor, state: Any) -> tuple[Tensor, Any]:
        return self.mixer.step(ids_t.to(self.device), state)

    @property
    def device(self) -> torch.device:
        return next(self.mixer.parameters()).device


def _lengths(l_max: int) -> list[int]:
    """Several lengths up to ``l_max``: short, odd, and the longest."""
    return sorted({min(l_max, n) for n in (2, 7, 19, l_max)})


def _scale(y: Tensor) -> float:
    return float(y.abs().max()) + 1e-6


# --- the checks --------------------------------------------------------------------------
def check_causality(probe: _Probe, l_max: int) -> Check:
    with torch.no_grad():
        for length in _lengths(l_max):
            u, ids = probe.inputs(2, length)
            y = probe.forward(u, ids)
            for t in sorted({1, length // 2, length - 1} - {0}):
                u2, ids2 = u.clone(), ids.clone()
                u2[:, t:] += torch.randn(u2[:, t:].shape, generator=probe.gen)
                ids2[:, t:] = (ids2[:, t:] + 1) % ID_VOCAB
                leak = float((probe.forward(u2, ids2)[:, :t] - y[:, :t]).abs().max())
                if leak > CAUSAL_RTOL * _scale(y):
                    return Check(
                        "causality",
                        False,
                        f"changing inputs from position {t} on changed earlier outputs by "
                        f"{leak:.3g} (output scale {_scale(y):.3g}, L={length}): the mixer "
                        "reads future positions",
                    )
    return Check("causality", True, f"L in {_lengths(l_max)}")


def check_decoding(probe: _Probe, l_max: int) -> Check:
    length = min(l_max, 20)
    u, ids = probe.inputs(3, length)
    with torch.inference_mode():
        full = probe.forward(u, ids)
        tol = DECODE_RTOL * (1 + float(full.abs().max()))
        cases = [(1, None), (max(1, length // 3), None)]
        if length > 2:
            cases.append((length, max(1, length // 3)))  # keep: one pass, the state at keep
        for given, keep in cases:
            prompt = keep or given
            y, state = probe.prefill(u[:, :given], ids[:, :given], keep=keep)
            if tuple(y.shape) != (3, given, probe.width):
                return Check("decoding", False, f"prefill returned shape {tuple(y.shape)}")
            outs = [y[:, :prompt]]
            for t in range(prompt, length):
                y_t, new_state = probe.step(u[:, t], ids[:, t], state)
                # a branch from the old state (another input) must disturb neither state
                other_u, other_ids = probe.inputs(3, 1)
                probe.step(other_u[:, 0], other_ids[:, 0], state)
                again, _ = probe.step(u[:, t], ids[:, t], state)
                if float((again - y_t).abs().max()) > tol:
                    return Check(
                        "decoding",
                        False,
                        f"stepping again from the state before position {t} (after a step "
                        "with another input) gave another output: step must leave the "
                        "state it was given usable",
                    )
                outs.append(y_t.unsqueeze(1))
                state = new_state
            err = float((torch.cat(outs, dim=1) - full).abs().max())
            if err > tol:
                how = f"prefill(keep={keep})" if keep else f"prefill of {given}"
                return Check(
                    "decoding",
                    False,
                    f"{how} + step differs from forward by {err:.3g} (tolerance {tol:.3g}, "
                    f"L={length})",
                )
    return Check("decoding", True, f"L={length}, prompts 1, {max(1, length // 3)}, keep")


def check_gradients(probe: _Probe, l_max: int) -> Check:
    mixer = probe.mixer
    mixer.train()
    try:
        u, ids = probe.inputs(2, min(l_max, 16))
        u.requires_grad_(True)
        mixer.zero_grad(set_to_none=True)
        y = probe.forward(u, ids)
        (y * torch.randn(y.shape, generator=probe.gen)).sum().backward()
        missing = [
            name
            for name, p in mixer.named_parameters()
            if p.requires_grad
            and (p.grad is None or not bool(p.grad.isfinite().all()) or not bool(p.grad.any()))
        ]
        if probe.input_grad and (u.grad is None or not bool(u.grad.isfinite().all())):
            missing.append("(the input)")
    finally:
        mixer.zero_grad(set_to_none=True)
        mixer.eval()
    if missing:
        return Check("gradients", False, f"no finite non-zero gradient for {', '.join(missing)}")
    n = sum(1 for p in mixer.parameters() if p.requires_grad)
    return Check("gradients", True, f"{n} parameter tensors")


def check_shapes(probe: _Probe, l_max: int) -> Check:
    lengths = sorted({1, 2, 3, max(1, l_max - 1), l_max})
    with torch.no_grad():
        for length in lengths:
            for batch in (1, 3):
                u, ids = probe.inputs(batch, length)
                y = probe.forward(u, ids)
                if tuple(y.shape) != tuple(u.shape):
                    return Check("shapes", False, f"input {tuple(u.shape)} gave {tuple(y.shape)}")
                if not bool(y.isfinite().all()):
                    return Check("shapes", False, f"non-finite output at shape {tuple(u.shape)}")
                if batch > 1:
                    alone = probe.forward(u[1:2], ids[1:2])
                    err = float((alone - y[1:2]).abs().max())
                    if err > DECODE_RTOL * (1 + _scale(y)):
                        return Check(
                            "shapes",
                            False,
                            f"row 1 of a batch of {batch} differs from the same row alone by "
                            f"{err:.3g} (L={length}): rows must not mix",
                        )
    return Check("shapes", True, f"B in (1, 3), L in {lengths}")


def bf16_device() -> str | None:
    """Where a bf16 forward can run: CUDA with bf16 support, else CPU autocast."""
    if torch.cuda.is_available() and torch.cuda.is_bf16_supported():
        return "cuda"
    return "cpu" if torch.amp.is_autocast_available("cpu") else None


def check_bf16(probe: _Probe, l_max: int) -> Check:
    device = bf16_device()
    if device is None:
        return Check("bf16", None, "no bf16 autocast on this machine")
    probe.mixer.to(device)
    try:
        u, ids = probe.inputs(2, min(l_max, 16))
        u, ids = u.to(device), ids.to(device)
        with torch.no_grad(), torch.autocast(device_type=device, dtype=torch.bfloat16):
            y = probe.forward(u, ids)
        if tuple(y.shape) != tuple(u.shape) or not bool(y.float().isfinite().all()):
            return Check("bf16", False, f"bf16 forward on {device}: bad or non-finite output")
    except Exception as exc:  # the check reports any failure of user code
        return Check("bf16", False, f"bf16 forward on {device} failed: {type(exc).__name__}: {exc}")
    finally:
        probe.mixer.to("cpu")
    return Check("bf16", True, f"autocast on {device}")


def state_numel(state: Any) -> int:
    """Real numbers a decoding state holds (a History counts its used positions only;
    a complex number counts as two)."""
    if isinstance(state, History):
        return state_numel(state.values)
    if isinstance(state, Tensor):
        return state.numel() * (2 if state.is_complex() else 1)
    if isinstance(state, (list, tuple)):
        return sum(state_numel(s) for s in state)
    if isinstance(state, dict):
        return sum(state_numel(s) for s in state.values())
    if dataclasses.is_dataclass(state) and not isinstance(state, type):
        return sum(state_numel(getattr(state, f.name)) for f in dataclasses.fields(state))
    if hasattr(state, "__dict__"):
        return sum(state_numel(v) for v in vars(state).values())
    return 0


def measure_state(probe: _Probe, l_max: int) -> tuple[int, int]:
    """(``state_size(l_max)``, numbers per sequence in the state after ``l_max`` positions).

    Per sequence is the growth from a batch of 1 to a batch of 2: what the whole batch
    shares (the reversed filter taps Hyena and BaseConv keep to decode) is a cost per
    model, not per sequence, and cancels.
    """
    kept = []
    for batch in (1, 2):
        u, ids = probe.inputs(batch, l_max)
        with torch.inference_mode():
            _, state = probe.prefill(u, ids)
        kept.append(state_numel(state))
    return probe.state_size(l_max), kept[1] - kept[0]


_CHECKS: dict[str, Callable[[_Probe, int], Check]] = {
    "causality": check_causality,
    "decoding": check_decoding,
    "gradients": check_gradients,
    "shapes": check_shapes,
    "bf16": check_bf16,
}


def _guarded(name: str, run: Callable[[], Check]) -> Check:
    try:
        return run()
    except Exception as exc:  # a mixer that crashes fails the check, with the reason
        return Check(name, False, f"raised {type(exc).__name__}: {exc}")


def _run_checks(make: Callable[[], _Probe], report: MixerReport, l_max: int) -> MixerReport:
    for name in CHECKS:
        probe = make()  # a fresh generator per check: each check's inputs are its own
        report.checks.append(_guarded(name, lambda f=_CHECKS[name], p=probe: f(p, l_max)))
    try:
        report.state_size, report.state_kept = measure_state(make(), l_max)
    except Exception as exc:
        report.checks.append(Check("state size", False, f"raised {type(exc).__name__}: {exc}"))
    return report


def check_mixer(
    mixer: Mixer, *, l_max: int, seed: int = 0, report: MixerReport | None = None
) -> MixerReport:
    """Run every check on ``mixer`` (weights as given; see :func:`build_mixer`)."""
    if report is None:
        report = MixerReport(type(mixer).__name__, mixer.d_model, {}, [mixer.layer_idx])
    return _run_checks(lambda: _Probe(mixer, seed), report, l_max)


def check_model(model: ExternalModel, *, seed: int = 0) -> MixerReport:
    """The checks on a whole model from a builder (its own init: scrambling a model's
    weights could saturate what a mixer's would not)."""
    torch.manual_seed(seed)
    model.eval()
    report = MixerReport(model.spec, None, {}, [])
    return _run_checks(lambda: _ModelProbe(model, seed), report, model.max_seq_len)


def check_config(config: ModelConfig, *, seed: int = 0) -> list[MixerReport]:
    """Check every distinct mixer of a model config at ``config.max_seq_len``.

    Layers with the same mixer, width, keyword arguments and parameter shapes are one
    configuration (BaseConv's short and long layers differ in their parameters), checked
    once; the report lists the layers it stands for.
    """
    from lolameme.models.plugins import resolve_mixer

    reports: dict[str, tuple[MixerReport, Mixer]] = {}
    n_layers = len(config.layers)
    for index, layer in enumerate(config.layers):
        cls, _ = resolve_mixer(layer.mixer, where=f"spec '{config.spec}'")
        mixer = build_mixer(
            cls,
            layer.width,
            dict(layer.kwargs),
            l_max=config.max_seq_len,
            layer_idx=index,
            n_layers=n_layers,
            seed=seed,
        )
        shapes = [tuple(p.shape) for p in mixer.parameters()]
        key = json.dumps([layer.mixer, layer.width, layer.kwargs, shapes], default=str)
        if key in reports:
            reports[key][0].layers.append(index)
        else:
            report = MixerReport(layer.mixer, layer.width, dict(layer.kwargs), [index])
            reports[key] = (report, mixer)
    for report, mixer in reports.values():
        check_mixer(mixer, l_max=config.max_seq_len, seed=seed, report=report)
    return [report for report, _ in reports.values()]


def check_spec(
    spec: str,
    *,
    scale: str = "smoke",
    max_seq_len: int = 64,
    mixer_kwargs: dict[str, dict[str, Any]] | None = None,
    seed: int = 0,
) -> list[MixerReport]:
    """:func:`check_config` of the model ``spec`` names, or :func:`check_model` when it
    names a whole-model builder (built with a vocabulary of ``MODEL_VOCAB``)."""
    from lolameme.models.spec import parse_spec

    config = parse_spec(
        spec,
        scale=scale,
        vocab_size=MODEL_VOCAB,
        max_seq_len=max_seq_len,
        mixer_kwargs=mixer_kwargs,
    )
    if isinstance(config, ModelConfig):
        return check_config(config, seed=seed)
    torch.manual_seed(seed)
    return [check_model(ExternalModel(config), seed=seed)]
