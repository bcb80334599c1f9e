"""Plugin mixers and whole models: import paths, entry points, errors, fresh processes."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
import torch

from lolameme.cli import main
from lolameme.evaluation.decode import greedy_decode
from lolameme.models import (
    MIXERS,
    ExternalModel,
    LanguageModel,
    SpecError,
    build_model,
    model_from_config_dict,
    parse_spec,
)
from lolameme.models.plugins import ENTRY_POINT_GROUP
from lolameme.training import TrainConfig, train

RUNNING_MAX = "lm_plugins.mixers:RunningMax"


def _config(spec: str, **kwargs: object):
    return parse_spec(spec, scale="smoke", vocab_size=11, max_seq_len=16, **kwargs)


# --- spec strings ------------------------------------------------------------------------
def test_import_paths_work_anywhere_a_mixer_name_goes(plugins: Path) -> None:
    config = _config(f"Attention, {RUNNING_MAX}@12*2,hyena")
    assert config.spec == f"attention,{RUNNING_MAX}@12*2,hyena"  # names lowered, path kept
    assert [layer.mixer for layer in config.layers] == [
        "attention",
        RUNNING_MAX,
        RUNNING_MAX,
        "hyena",
    ]
    assert [layer.width for layer in config.layers] == [16, 12, 12, 18]
    assert config.layers[1].mlp_width == 24  # the scale's fallback ratio (2x) at @12
    model = LanguageModel(config)
    assert type(model.blocks[1].mixer).__name__ == "RunningMax"
    assert model(torch.zeros(2, 5, dtype=torch.long)).shape == (2, 5, 11)


def test_mixer_kwargs_update_the_layers_that_use_the_mixer(plugins: Path) -> None:
    config = _config(
        f"hyena*1,{RUNNING_MAX}*2",
        mixer_kwargs={RUNNING_MAX: {"scale": 3.0}, "HYENA": {"short_kernel": 2}},
    )
    assert [layer.kwargs.get("scale") for layer in config.layers] == [None, 3.0, 3.0]
    assert config.layers[0].kwargs["short_kernel"] == 2
    assert config.layers[0].kwargs["filter_order"] == 16  # the other defaults stay
    model = LanguageModel(config)
    assert model.blocks[1].mixer.scale == 3.0
    preset = _config("thex-3", mixer_kwargs={"attention": {"num_heads": 1}})
    assert preset.layers[3].kwargs == {"num_heads": 1}
    with pytest.raises(SpecError, match="mixer_kwargs for rwkv: spec 'hyena\\*2' has no such"):
        _config("hyena*2", mixer_kwargs={"rwkv": {}})
    with pytest.raises(SpecError, match="does not accept bogus"):
        LanguageModel(_config(RUNNING_MAX, mixer_kwargs={RUNNING_MAX: {"bogus": 1}}))


def test_entry_points_give_installed_mixers_short_names(
    plugins: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A real (temporary) distribution: a dist-info folder with entry_points.txt."""
    site = tmp_path / "site"
    info = site / "lm_plugins-0.1.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: lm-plugins\nVersion: 0.1\n")
    (info / "entry_points.txt").write_text(f"[{ENTRY_POINT_GROUP}]\nrunning_max = {RUNNING_MAX}\n")
    monkeypatch.syspath_prepend(str(site))
    config = _config("attention,Running_Max*2")
    assert config.spec == "attention,running_max*2"
    assert config.layers[1].mixer == RUNNING_MAX  # the saved config needs no entry point
    assert "running_max" in str(pytest.raises(SpecError, _config, "nosuch").value)


def test_a_mixer_registered_at_run_time_is_saved_by_its_import_path(
    plugins: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from lm_plugins.mixers import RunningMax

    monkeypatch.setitem(MIXERS, "runmax", RunningMax)
    config = _config("runmax*2")
    assert config.spec == "runmax*2" and config.layers[0].mixer == RUNNING_MAX
    monkeypatch.delitem(MIXERS, "runmax")
    assert isinstance(LanguageModel(config).blocks[0].mixer, RunningMax)  # rebuilds without it


@pytest.mark.parametrize(
    ("spec", "reason"),
    [
        (
            "attention,no_such_pkg.mixers:X*2",
            "cannot import 'no_such_pkg.mixers:X': ModuleNotFoundError",
        ),
        (
            "lm_plugins.mixers:Missing*2",
            "cannot import 'lm_plugins.mixers:Missing': AttributeError",
        ),
        (
            "lm_plugins.broken:X",
            "cannot import 'lm_plugins.broken:X': RuntimeError: this plugin fails",
        ),
        (
            "hyena*2,lm_plugins.mixers:not_a_class",
            "'lm_plugins.mixers:not_a_class' is not a Mixer subclass",
        ),
        ("lm_plugins.mixers:not_a_class*2", "a model builder (vocab_size, max_seq_len, scale)"),
        ("torch.nn:Linear*2", "'torch.nn:Linear' is not a Mixer subclass"),
        ("lm_plugins.models:NOT_CALLABLE", "neither a Mixer subclass nor a callable"),
        ("lm_plugins.models:build,attention", "a model builder (vocab_size, max_seq_len, scale)"),
    ],
)
def test_bad_plugins_are_one_error_naming_spec_path_and_reason(
    plugins: Path, spec: str, reason: str
) -> None:
    with pytest.raises(SpecError) as exc:
        _config(spec)
    message = str(exc.value)
    assert message.startswith(f"spec '{spec}'") and reason in message and "\n" not in message


def test_a_bad_plugin_leaves_the_run_directory_untouched(
    plugins: Path, tokens_dataset: Callable, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = tokens_dataset(32, 8)
    args = ["train", "--data", str(data), "--scale", "smoke", "--steps", "1", "--batch-size", "4"]
    fresh = tmp_path / "fresh"
    for spec in ("lm_plugins.mixers:Missing*2", "lm_plugins.broken:X"):
        with pytest.raises(SystemExit) as exc:
            main([*args, "--model", spec, "--out", str(fresh)])
        err = capsys.readouterr().err
        assert exc.value.code == 2 and err.startswith(f"error: spec '{spec}': cannot import")
        assert err.count("\n") == 1 and not fresh.exists()
    existing = tmp_path / "existing"
    main([*args, "--model", "attention", "--out", str(existing), "-q"])
    before = sorted(p.relative_to(existing) for p in existing.rglob("*"))
    with pytest.raises(SystemExit):
        main([*args, "--model", "lm_plugins.mixers:Missing", "--out", str(existing), "--overwrite"])
    assert sorted(p.relative_to(existing) for p in existing.rglob("*")) == before


# --- runs rebuild in a fresh process -----------------------------------------------------
def _python(code: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=300
    )


def _cli(args: list[str], env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "lolameme", *args],
        capture_output=True,
        text=True,
        env=env,
        cwd=cwd,
        timeout=300,
    )


def test_a_plugin_run_evaluates_and_rebuilds_in_a_fresh_process(
    plugins: Path, tokens_dataset: Callable, tmp_path: Path, fresh_env: Callable
) -> None:
    spec = f"attention,{RUNNING_MAX}*2"
    run = train(
        TrainConfig(
            data=tokens_dataset(64, 16),
            model=spec,
            scale="smoke",
            out=tmp_path / "run",
            steps=3,
            batch_size=8,
            eval_samples=0,
            threads=1,
            mixer_kwargs={RUNNING_MAX: {"scale": 0.5}},
        ),
        progress=False,
    )
    meta = json.loads((run / "run.json").read_text())
    assert [layer["mixer"] for layer in meta["model"]["layers"]] == [
        "attention",
        *[RUNNING_MAX] * 2,
    ]
    assert meta["model"]["layers"][1]["kwargs"] == {"scale": 0.5}
    assert meta["config"]["mixer_kwargs"] == {RUNNING_MAX: {"scale": 0.5}}

    env = fresh_env(plugins)  # a new interpreter: nothing registered, the module on the path
    evaluated = _cli(["eval", str(run), "--limit", "8", "--device", "cpu"], env, tmp_path)
    assert evaluated.returncode == 0, evaluated.stderr
    assert "token_accuracy" in json.loads((run / "eval.json").read_text())["splits"]["test"]
    rebuild = (
        "import json, sys; from lolameme.models import LanguageModel\n"
        f"meta = json.load(open({str(run / 'run.json')!r}))\n"
        "model = LanguageModel.from_config_dict(meta['model'])\n"
        "print(type(model.blocks[1].mixer).__module__, model.blocks[1].mixer.scale)"
    )
    rebuilt = _python(rebuild, env)
    assert rebuilt.returncode == 0 and rebuilt.stdout.split() == ["lm_plugins.mixers", "0.5"]

    lost = _cli(["eval", str(run), "--limit", "8"], fresh_env(), tmp_path)  # no plugin path
    assert lost.returncode == 2 and lost.stderr.count("\n") == 1
    assert lost.stderr.startswith(f"error: layer 1: cannot import '{RUNNING_MAX}'")
    assert "PYTHONPATH" in lost.stderr


def test_a_whole_model_trains_evaluates_and_decodes(
    plugins: Path, tokens_dataset: Callable, tmp_path: Path, fresh_env: Callable
) -> None:
    model = build_model("lm_plugins.models:build", scale="smoke", vocab_size=11, max_seq_len=16)
    assert isinstance(model, ExternalModel) and model.config_dict() == {
        "builder": "lm_plugins.models:build",
        "scale": "smoke",
        "vocab_size": 11,
        "max_seq_len": 16,
    }
    ids = torch.randint(0, 11, (2, 9), generator=torch.Generator().manual_seed(0))
    # the Bigram reads only the last id: a step that dropped the history would pass
    # with it, so decoding is also checked on a model whose logits need the prefix
    context = build_model(
        "lm_plugins.models:build_context", scale="smoke", vocab_size=11, max_seq_len=16
    )
    with torch.inference_mode():  # recomputing decoding: one forward per new token
        changed = ids.clone()
        changed[:, 0] = (changed[:, 0] + 1) % 11
        assert not torch.allclose(context(changed)[:, -1], context(ids)[:, -1], atol=1e-3)
        for decoder in (model, context):
            full = decoder(ids)
            logits, state = decoder.prefill(ids, keep=4)
            assert torch.equal(logits, full)
            for t in range(4, 9):
                step, state = decoder.step(ids[:, t], state)
                assert torch.allclose(step, full[:, t], atol=1e-5), (decoder.spec, t)
    prompts = [ids[0, :3].tolist(), ids[1, :3].tolist(), ids[1, 3:6].tolist()]
    cached = greedy_decode(context, prompts, max_new_tokens=8, eos_id=-1)
    assert cached == greedy_decode(context, prompts, max_new_tokens=8, eos_id=-1, cached=False)
    assert model.state_size(9) == 9

    run = train(
        TrainConfig(
            data=tokens_dataset(64, 16),
            model="lm_plugins.models:build",
            scale="smoke",
            out=tmp_path / "run",
            steps=3,
            batch_size=8,
            eval_samples=0,
            threads=1,
        ),
        progress=False,
    )
    meta = json.loads((run / "run.json").read_text())
    assert meta["model"]["builder"] == "lm_plugins.models:build"
    assert meta["vocab_size"] == 16 and meta["num_parameters"] == 16 * 8 + 8 * 16 + 16
    evaluated = _cli(
        ["eval", str(run), "--limit", "8", "--device", "cpu"], fresh_env(plugins), tmp_path
    )
    assert evaluated.returncode == 0, evaluated.stderr
    rebuilt = model_from_config_dict(meta["model"])
    assert isinstance(rebuilt, ExternalModel) and rebuilt.net.embed.embedding_dim == 8


def test_a_builder_whose_module_returns_no_logits_is_a_clear_error(plugins: Path) -> None:
    model = build_model(
        "lm_plugins.models:wrong_shape", scale="smoke", vocab_size=11, max_seq_len=8
    )
    with pytest.raises(
        ValueError, match=r"returned \(1, 3, 4\).*expected logits of shape \(1, 3, 11\)"
    ):
        model(torch.zeros(1, 3, dtype=torch.long))
    with pytest.raises(SpecError, match="mixer_kwargs do not apply"):
        _config("lm_plugins.models:build", mixer_kwargs={"x": {}})


def test_models_cli_describes_plugins(plugins: Path, capsys: pytest.CaptureFixture[str]) -> None:
    main(["models", "--spec", f"{RUNNING_MAX}*2,attention", "--scale", "smoke", "--json"])
    info = json.loads(capsys.readouterr().out)
    assert [row["mixer"] for row in info["layer_rows"]] == [RUNNING_MAX] * 2 + ["attention"]
    main(["models", "--spec", "lm_plugins.models:build", "--scale", "smoke", "--vocab", "11"])
    assert "a model builder" in capsys.readouterr().out
