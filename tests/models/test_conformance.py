"""The conformance checks over every registered mixer, and proof that they catch faults.

The list of mixers comes from the registry: a new mixer (one file + one ``MIXERS``
line) is checked here without touching this file.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from lolameme.cli import main
from lolameme.models import MIXERS, Mixer
from lolameme.models.conformance import CHECKS, build_mixer, check_mixer, check_spec
from lolameme.models.presets import get_scale

L_MAX = 40
# Keyword settings that take another code path than the defaults, checked in addition
# to every mixer's defaults at layers 0 and 1 (BaseConv alternates short and long).
# Each is (layer_idx, kwargs).
EXTRA_SETTINGS = {
    "h3": [(0, {"d_state": 4, "shift_size": 1})],
    "rwkv": [(0, {"channel_mix_ratio": 0, "chunk_size": 5})],
    "attention": [(0, {"num_heads": 4})],
    "base_conv": [(1, {"long_filter": "hyena"})],  # the older zoology long filter
    # chunked forms with several chunks in L_MAX (Mamba's scan_chunk acts off CPU only)
    "mamba": [(0, {"d_state": 4, "scan_chunk": 8})],
    "based": [(0, {"feature_dim": 4, "num_heads": 2, "chunk_size": 8})],
    "delta_net": [(0, {"num_heads": 2, "chunk_size": 8})],
}


def configurations() -> list:
    params = []
    for name in sorted(MIXERS):
        defaults = get_scale("smoke").defaults(name)
        kwargs = dict(defaults.kwargs)
        for layer_idx in (0, 1):
            params.append(
                pytest.param(name, defaults.width, kwargs, layer_idx, id=f"{name}-{layer_idx}")
            )
        for i, (layer_idx, extra) in enumerate(EXTRA_SETTINGS.get(name, [])):
            params.append(
                pytest.param(name, 16, {**kwargs, **extra}, layer_idx, id=f"{name}-variant{i}")
            )
    return params


def _failures(report) -> str:
    return "; ".join(f"{c.name}: {c.detail}" for c in report.failures())


@pytest.mark.parametrize(("name", "width", "kwargs", "layer_idx"), configurations())
def test_every_registered_mixer_conforms(
    name: str, width: int, kwargs: dict, layer_idx: int
) -> None:
    mixer = build_mixer(MIXERS[name], width, kwargs, l_max=L_MAX, layer_idx=layer_idx)
    report = check_mixer(mixer, l_max=L_MAX)
    assert report.ok, _failures(report)
    assert [c.name for c in report.checks] == list(CHECKS)  # every check ran
    assert all(c.ok for c in report.checks if c.name != "bf16")
    assert report.state_size is not None and report.state_size > 0
    # state_size says what decoding keeps per sequence, for every mixer we ship
    assert report.state_kept == report.state_size


# rwkv's forward is its prefill's output: without its own prefill it has no forward.
FORWARD_FROM_PREFILL = {"rwkv"}


@pytest.mark.parametrize(
    "name",
    sorted(
        name
        for name, cls in MIXERS.items()
        if not cls.needs_token_ids and name not in FORWARD_FROM_PREFILL
    ),
)
def test_the_recomputing_default_decodes_every_mixer(name: str) -> None:
    """Mixer's own prefill/step (input history + forward) keep any causal mixer
    decodable: the mixer with its decoding methods removed passes too."""
    cls = MIXERS[name]
    recomputing = type(f"Recomputing{cls.__name__}", (cls,), {})
    recomputing.prefill, recomputing.step = Mixer.prefill, Mixer.step  # type: ignore[method-assign]
    defaults = get_scale("smoke").defaults(name)
    mixer = build_mixer(recomputing, defaults.width, dict(defaults.kwargs), l_max=L_MAX)
    report = check_mixer(mixer, l_max=L_MAX)
    assert report.ok, _failures(report)
    assert report.state_kept == L_MAX * defaults.width  # the input history


# --- the checks catch what they claim to catch -------------------------------------------
@pytest.mark.parametrize(
    ("cls", "check", "message"),
    [
        ("Leaky", "causality", "reads future positions"),
        ("InPlaceStep", "decoding", "leave the state it was given usable"),
        ("Unused", "gradients", "spare"),
        ("MixesRows", "shapes", "rows must not mix"),
    ],
)
def test_a_faulty_mixer_fails_the_right_check(
    plugins: Path, cls: str, check: str, message: str
) -> None:
    import lm_plugins.mixers as module

    mixer = build_mixer(getattr(module, cls), 8, {}, l_max=24)
    report = check_mixer(mixer, l_max=24)
    failed = {c.name: c.detail for c in report.failures()}
    assert check in failed and message in failed[check], failed
    sound = build_mixer(module.RunningMax, 8, {}, l_max=24)
    assert check_mixer(sound, l_max=24).ok


def test_cli_check_of_a_non_causal_mixer_fails_with_a_clear_message(
    plugins: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exc:
        main(["models", "check", "attention,lm_plugins.mixers:Leaky"])
    out, err = capsys.readouterr()
    assert exc.value.code == 2
    assert err.startswith("error: models check 'attention,lm_plugins.mixers:Leaky' failed: ")
    assert "lm_plugins.mixers:Leaky causality" in err and err.count("\n") == 1
    assert "attention" not in err.split("failed: ")[1]  # the sound mixer is not blamed
    rows = {line.split()[1]: line.split() for line in out.splitlines()[1:3]}
    assert rows["attention"][3:8] == ["ok"] * 5
    assert rows["lm_plugins.mixers:Leaky"][3] == "FAIL"
    assert "reads future positions" in out


def test_cli_check_passes_and_reports_state(
    plugins: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    main(
        [
            "models",
            "check",
            "base_conv*2,lm_plugins.mixers:RunningMax*2",
            "--max-seq-len",
            "32",
            "--mixer-kwargs",
            '{"lm_plugins.mixers:RunningMax": {"scale": 2.0}}',
        ]
    )
    out = capsys.readouterr().out
    lines = out.splitlines()
    assert lines[0].split()[:3] == ["layers", "mixer", "width"]
    layers = [line.split()[0] for line in lines[1:]]
    assert layers == ["0", "1", "2,3"]  # BaseConv short, BaseConv long, the plugin twice
    assert "576 / 576" in lines[3]  # RunningMax: L x D, and the recomputing history


@pytest.mark.parametrize("builder", ["build", "build_context"])
def test_check_spec_covers_whole_models(plugins: Path, builder: str) -> None:
    """Also a model whose logits depend on the whole prefix (``build`` is a bigram, whose
    decoding would pass even with the history dropped)."""
    (report,) = check_spec(f"lm_plugins.models:{builder}", max_seq_len=16)
    assert report.ok, _failures(report)
    assert {c.name: c.ok for c in report.checks}["decoding"] is True  # ran, and passed
    assert report.width is None and report.state_kept == 16  # the token history


def test_a_mixer_that_raises_fails_each_check_with_the_reason() -> None:
    class Crashes(Mixer):
        def forward(self, u: torch.Tensor) -> torch.Tensor:
            raise RuntimeError("boom")

        def state_size(self, sequence_length: int) -> int:
            return 0

    report = check_mixer(Crashes(8, 0, 1, l_max=8), l_max=8)
    assert {c.name for c in report.failures()} >= {"causality", "decoding", "shapes"}
    assert all("RuntimeError: boom" in c.detail for c in report.failures())
