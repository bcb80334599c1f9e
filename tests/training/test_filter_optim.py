"""The implicit filters' own optimiser settings (``filter_lr``, ``filter_weight_decay``).

Which parameters are filters comes from the mixers (``Mixer.filter_parameters``); the
tests below name them independently (every parameter of a Hyena or BaseConv ``filter``
module) and check the groups, the schedule, the config, the CLI and resume.
"""

import json
from collections.abc import Callable
from pathlib import Path

import pytest
import torch
from pydantic import ValidationError
from safetensors.torch import load_file

from lolameme.cli import main
from lolameme.errors import format_validation_error
from lolameme.models import build_model
from lolameme.models.mixers import BaseConv, Hyena
from lolameme.runs.checkpoint import latest_checkpoint, load_state
from lolameme.training import TrainConfig
from lolameme.training import trainer as trainer_module
from lolameme.training.optim import FILTER_GROUP, build_optimizer, lr_at

CPU = torch.device("cpu")
MIXED = "hyena*2,attention,base_conv*2"  # base_conv alternates short and long convolutions


def _model(spec: str = MIXED) -> torch.nn.Module:
    torch.manual_seed(0)
    return build_model(spec, scale="smoke", vocab_size=16, max_seq_len=32)


def _filter_ids(model: torch.nn.Module) -> set[int]:
    """Every parameter of a Hyena/BaseConv long filter, found without the hook under test."""
    return {
        id(p)
        for block in model.blocks
        if isinstance(block.mixer, (Hyena, BaseConv)) and block.mixer.filter is not None
        for p in block.mixer.filter.parameters()
    }


def _ids(groups: list[dict]) -> list[int]:
    return [id(p) for group in groups for p in group["params"]]


@pytest.mark.parametrize(
    ("filter_lr", "filter_wd", "wd_expected"),
    [(3e-4, 0.05, 0.05), (3e-4, None, 0.0), (None, 0.05, 0.05)],
)
def test_filter_groups_hold_exactly_the_filters_with_their_settings(
    filter_lr: float | None, filter_wd: float | None, wd_expected: float
) -> None:
    model = _model()
    opt = build_optimizer(
        model,
        lr=1e-3,
        weight_decay=0.1,
        device=CPU,
        filter_lr=filter_lr,
        filter_weight_decay=filter_wd,
    )
    ids = _ids(opt.param_groups)
    assert sorted(ids) == sorted(id(p) for p in model.parameters())  # each exactly once
    filters = [g for g in opt.param_groups if g.get(FILTER_GROUP)]
    assert len(filters) == 1  # all filter parameters share their settings here
    assert set(_ids(filters)) == _filter_ids(model) and len(_filter_ids(model)) > 0
    assert filters[0]["lr"] == (filter_lr or 1e-3)
    assert filters[0]["weight_decay"] == wd_expected
    # the other parameters keep the model's own rule and the main lr
    default = model.param_groups(0.1)
    rest = [g for g in opt.param_groups if not g.get(FILTER_GROUP)]
    assert [g["weight_decay"] for g in rest] == [g["weight_decay"] for g in default]
    for mine, theirs in zip(rest, default, strict=True):
        expected = [id(p) for p in theirs["params"] if id(p) not in _filter_ids(model)]
        assert [id(p) for p in mine["params"]] == expected
        assert mine["lr"] == 1e-3


@pytest.mark.parametrize("spec", [MIXED, "gpt2"])
def test_without_filter_settings_the_groups_are_the_models_own(spec: str) -> None:
    model = _model(spec)
    opt = build_optimizer(model, lr=1e-3, weight_decay=0.1, device=CPU)
    default = model.param_groups(0.1)
    assert len(opt.param_groups) == len(default)
    for mine, theirs in zip(opt.param_groups, default, strict=True):
        assert _ids([mine]) == _ids([theirs])
        assert mine["weight_decay"] == theirs["weight_decay"] and FILTER_GROUP not in mine


def test_a_model_without_filters_gets_no_filter_group() -> None:
    model = _model("gpt2")
    assert model.filter_parameters() == []
    plain = build_optimizer(model, lr=1e-3, weight_decay=0.1, device=CPU)
    opt = build_optimizer(
        model, lr=1e-3, weight_decay=0.1, device=CPU, filter_lr=1e-5, filter_weight_decay=0.5
    )
    assert not any(g.get(FILTER_GROUP) for g in opt.param_groups)
    assert all(g["params"] for g in opt.param_groups)
    assert [(_ids([g]), g["lr"], g["weight_decay"]) for g in opt.param_groups] == [
        (_ids([g]), g["lr"], g["weight_decay"]) for g in plain.param_groups
    ]


def test_filter_settings_are_validated() -> None:
    base = {"data": "d", "model": "hyena", "out": "o"}
    for key, value in [("filter_lr", 0.0), ("filter_lr", -1e-3), ("filter_weight_decay", -0.1)]:
        with pytest.raises(ValidationError) as info:
            TrainConfig(**base, **{key: value})
        line = format_validation_error(info.value)
        assert f"field '{key}'" in line and "\n" not in line, line
    with pytest.raises(ValidationError) as info:
        TrainConfig(**base, filter_lrr=1e-3)
    assert "field 'filter_lrr': unknown key" in format_validation_error(info.value)
    config = TrainConfig(**base)
    assert config.filter_lr is None and config.filter_weight_decay is None


# --- through the training loop ---------------------------------------------------------


def _train(data: Path, out: Path, **overrides: object) -> Path:
    settings = dict(
        data=data,
        model="hyena*2",
        scale="smoke",
        out=out,
        tokenizer="char",
        steps=6,
        warmup=3,
        batch_size=8,
        lr=3e-3,
        eval_samples=0,
        log_every=1,
        threads=1,
    )
    settings.update(overrides)
    return trainer_module.train(TrainConfig(**settings), progress=False)


def _losses(run: Path) -> list[float]:
    lines = (run / "metrics.jsonl").read_text().splitlines()
    return [e["loss"] for e in map(json.loads, lines) if e["type"] == "train"]


def _weights(run: Path) -> dict[str, torch.Tensor]:
    return load_file(latest_checkpoint(run) / "model.safetensors")


def test_split_groups_at_the_default_settings_train_bit_identically(
    copy_dataset: Callable, tmp_path: Path
) -> None:
    """filter_lr = lr splits the groups yet changes nothing: same losses, same weights."""
    data = copy_dataset(64, 8)
    plain = _train(data, tmp_path / "plain")
    split = _train(data, tmp_path / "split", filter_lr=3e-3)
    groups = lambda run: load_state(latest_checkpoint(run))["optimizer"]["param_groups"]  # noqa: E731
    assert len(groups(plain)) == 2 and len(groups(split)) == 3
    assert _losses(plain) == _losses(split) and len(_losses(plain)) == 6
    a, b = _weights(plain), _weights(split)
    assert all(torch.equal(a[name], b[name]) for name in a)
    # and a different filter lr does change the training
    slower = _train(data, tmp_path / "slower", filter_lr=3e-5)
    assert _losses(slower)[1:] != _losses(plain)[1:]


@pytest.mark.parametrize("stop", [2, 6])  # in the warmup, at the end of the decay
def test_the_schedule_scales_each_groups_own_peak(
    stop: int, copy_dataset: Callable, tmp_path: Path
) -> None:
    run = _train(copy_dataset(64, 8), tmp_path / "run", filter_lr=7.5e-4, stop_after=stop)
    groups = load_state(latest_checkpoint(run))["optimizer"]["param_groups"]
    shape = {"warmup": 3, "total": 6, "min_ratio": 0.1}
    last = stop - 1  # the checkpoint holds the lr its last step used
    for group in groups:
        peak = 7.5e-4 if group.get(FILTER_GROUP) else 3e-3
        assert group["lr"] == pytest.approx(lr_at(last, lr=peak, **shape), rel=1e-12)
    main_lr = next(g["lr"] for g in groups if not g.get(FILTER_GROUP))
    filter_lr = next(g["lr"] for g in groups if g.get(FILTER_GROUP))
    assert filter_lr / main_lr == pytest.approx(0.25, rel=1e-12)


def _cli_args(data: Path, out: Path, *extra: str) -> list[str]:
    return ["train", "--data", str(data), "--out", str(out), "--model", "hyena*2",
            "--scale", "smoke", "--tokenizer", "char", "--steps", "4", "--batch-size", "8",
            "--eval-every", "0", "--log-every", "1", "--threads", "1", "-q", *extra]  # fmt: skip


def test_cli_flags_reach_run_json_and_survive_resume(
    copy_dataset: Callable, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "run"
    flags = ("--filter-lr", "2e-4", "--filter-weight-decay", "0.01", "--stop-after", "2")
    main(_cli_args(copy_dataset(64, 8), out, *flags))
    config = json.loads((out / "run.json").read_text())["config"]
    assert config["filter_lr"] == 2e-4 and config["filter_weight_decay"] == 0.01
    for resumed, step, wd in [((), 3, 0.01), (("--filter-weight-decay", "0.02"), 4, 0.02)]:
        main(["train", "--out", str(out), "--resume", "--stop-after", str(step), "-q", *resumed])
        assert latest_checkpoint(out).name == f"step-{step:08d}"
        filters = [
            g
            for g in load_state(latest_checkpoint(out))["optimizer"]["param_groups"]
            if g.get(FILTER_GROUP)
        ]
        # kept when not given; a new value wins over the checkpoint's, as --lr does
        assert len(filters) == 1 and filters[0]["weight_decay"] == wd
        config = json.loads((out / "run.json").read_text())["config"]
        assert config["filter_lr"] == 2e-4 and config["filter_weight_decay"] == wd


def test_cli_rejects_bad_filter_settings_in_one_line(
    copy_dataset: Callable, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data, out = copy_dataset(64, 8), tmp_path / "run"
    for flag, value in [("--filter-lr", "-1"), ("--filter-weight-decay", "-0.5")]:
        with pytest.raises(SystemExit) as exit_info:
            main(_cli_args(data, out, flag, value))
        err = capsys.readouterr().err.strip()
        assert exit_info.value.code != 0 and not out.exists()
        field = flag.removeprefix("--").replace("-", "_")
        assert err.startswith("error: ") and f"field '{field}'" in err and "\n" not in err, err


def test_an_old_run_json_without_the_keys_resumes_unchanged(
    copy_dataset: Callable, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A run from before the two fields resumes with neither, exactly as it would have."""
    data = copy_dataset(64, 8)
    straight, old = tmp_path / "straight", tmp_path / "old"
    main(_cli_args(data, straight))
    main(_cli_args(data, old, "--stop-after", "2"))
    run_json = old / "run.json"
    saved = json.loads(run_json.read_text())
    del saved["config"]["filter_lr"], saved["config"]["filter_weight_decay"]
    run_json.write_text(json.dumps(saved))
    main(["train", "--out", str(old), "--resume", "-q"])
    assert _losses(old) == _losses(straight)
    a, b = _weights(straight), _weights(old)
    assert all(torch.equal(a[name], b[name]) for name in a)
    # giving a filter setting now would change the optimiser's groups: one clear error
    main(_cli_args(data, tmp_path / "again", "--stop-after", "2"))
    capsys.readouterr()
    with pytest.raises(SystemExit):
        main(["train", "--out", str(tmp_path / "again"), "--resume", "--filter-lr", "1e-4"])
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: cannot resume") and "filter_lr" in err and "\n" not in err


def test_filter_settings_on_a_model_without_filters_warn_and_change_nothing(
    copy_dataset: Callable, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = copy_dataset(64, 8)
    plain = _train(data, tmp_path / "plain", model="attention*2")
    capsys.readouterr()
    other = _train(data, tmp_path / "other", model="attention*2", filter_lr=1e-5)
    assert "has no implicit-filter parameters" in capsys.readouterr().err
    assert _losses(plain) == _losses(other)


def test_an_experiment_specs_train_section_takes_the_filter_settings(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Specs' ``train:`` are TrainConfig fields: a bad value fails before any work."""
    argv = ["experiment", "run", "layer_scan", "--out", str(tmp_path / "exp")]
    with pytest.raises(SystemExit) as exit_info:
        main([*argv, "--set", "train.filter_weight_decay=-1"])
    err = capsys.readouterr().err.strip()
    assert exit_info.value.code == 2 and "field 'filter_weight_decay'" in err, err
    assert "\n" not in err and not (tmp_path / "exp" / "data").exists()
