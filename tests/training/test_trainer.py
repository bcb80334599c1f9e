"""The training loop: outputs, exact resume, divergence, and one-line user errors."""

import json
from collections.abc import Callable
from pathlib import Path
from types import SimpleNamespace

import pytest
import torch
from safetensors.torch import load_file

from lolameme.cli import main
from lolameme.errors import ConfigError, DataError, TrainingError
from lolameme.evaluation.evaluate import evaluate_frame
from lolameme.runs.checkpoint import latest_checkpoint, load_state
from lolameme.training import TrainConfig
from lolameme.training import trainer as trainer_module


def train(config: TrainConfig, progress: bool = True) -> Path:
    """The loop with the periodic evaluation the ``train`` command gives it."""
    return trainer_module.train(config, progress, evaluate=evaluate_frame)


def _config(data: Path, out: Path, **overrides: object) -> TrainConfig:
    settings = dict(
        data=data,
        model="attention*2",
        scale="smoke",
        out=out,
        tokenizer="char",
        steps=12,
        batch_size=16,
        eval_samples=8,
        eval_every=6,
        log_every=3,
        threads=1,
    )
    settings.update(overrides)
    return TrainConfig(**settings)


def _events(run: Path) -> list[dict]:
    return [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]


def test_run_directory_contents(copy_dataset: Callable, tmp_path: Path) -> None:
    run = train(_config(copy_dataset(128, 16), tmp_path / "run"), progress=False)
    meta = json.loads((run / "run.json").read_text())
    assert meta["format"] == "text" and meta["tokenizer"] == "char"
    finished = meta["finished"]
    assert finished == {"step": 12, "complete": True, "seconds": finished["seconds"]}
    assert 0 < finished["seconds"] < 600
    assert (run / "tokenizer.json").is_file()
    assert latest_checkpoint(run).name == "step-00000012"
    events = _events(run)
    train_steps = [e["step"] for e in events if e["type"] == "train"]
    assert train_steps == [3, 6, 9, 12]
    evals = [e for e in events if e["type"] == "eval"]
    assert [e["step"] for e in evals] == [6, 12]
    assert set(evals[-1]["splits"]["test"]) >= {"em", "loss", "n"}
    assert evals[-1]["splits"]["test"]["n"] == 8
    first = next(e for e in events if e["type"] == "train")
    assert first["tokens_per_s"] > 0 and 0 < first["lr"] <= 1e-3


def test_resume_continues_exactly(copy_dataset: Callable, tmp_path: Path) -> None:
    data = copy_dataset(128, 16)
    straight = train(_config(data, tmp_path / "a"), progress=False)
    train(_config(data, tmp_path / "b", stop_after=6), progress=False)
    assert latest_checkpoint(tmp_path / "b").name == "step-00000006"
    state = load_state(latest_checkpoint(tmp_path / "b"))
    assert state["sampler"]["position"] == 6 and state["step"] == 6
    resumed = train(_config(data, tmp_path / "b", resume=True), progress=False)
    a = load_file(latest_checkpoint(straight) / "model.safetensors")
    b = load_file(latest_checkpoint(resumed) / "model.safetensors")
    assert a.keys() == b.keys()
    for name in a:
        assert torch.equal(a[name], b[name]), name
    losses = lambda run: [(e["step"], e["loss"]) for e in _events(run) if e["type"] == "train"]  # noqa: E731
    assert losses(straight) == losses(resumed)
    # the clock counts the checkpoint's steps too, not only the resumed process's
    before = state["train_seconds"]
    finished = json.loads((resumed / "run.json").read_text())["finished"]
    assert before > 0 and finished["resumed_seconds"] == before
    assert finished["seconds"] > before
    later = [e["elapsed_s"] for e in _events(resumed) if e["type"] == "train" and e["step"] > 6]
    assert later and min(later) > before
    assert "resumed_seconds" not in json.loads((straight / "run.json").read_text())["finished"]


def test_a_checkpoint_without_a_clock_resumes_from_zero(
    copy_dataset: Callable, tmp_path: Path
) -> None:
    """Checkpoints written before the clock was saved still resume, exactly as before."""
    data = copy_dataset(128, 16)
    train(_config(data, tmp_path / "b", stop_after=6), progress=False)
    path = latest_checkpoint(tmp_path / "b") / "state.pt"
    state = torch.load(path, weights_only=True)
    del state["train_seconds"]
    torch.save(state, path)
    resumed = train(_config(data, tmp_path / "b", resume=True), progress=False)
    finished = json.loads((resumed / "run.json").read_text())["finished"]
    assert finished["step"] == 12 and "resumed_seconds" not in finished
    straight = train(_config(data, tmp_path / "a"), progress=False)
    a, b = _weights(straight), _weights(resumed)
    assert a and a.keys() == b.keys()
    for name in a:
        assert torch.equal(a[name], b[name]), name


def test_nan_loss_stops_and_keeps_the_last_good_checkpoint(
    copy_dataset: Callable, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    real_loss = trainer_module._loss
    calls = {"n": 0}

    def diverging(logits: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        calls["n"] += 1
        loss = real_loss(logits, targets)
        return loss * float("nan") if calls["n"] > 7 else loss

    monkeypatch.setattr(trainer_module, "_loss", diverging)
    with pytest.raises(TrainingError, match=r"loss became nan .*step-00000006"):
        train(_config(copy_dataset(128, 16), tmp_path / "run"), progress=False)
    latest = latest_checkpoint(tmp_path / "run")
    assert latest.name == "step-00000006"
    weights = load_file(latest / "model.safetensors")
    assert all(torch.isfinite(t).all() for t in weights.values())


def test_tokens_format_trains_on_labelled_positions(
    tokens_dataset: Callable, tmp_path: Path
) -> None:
    data = tokens_dataset(256, 32, vocab=16)
    run = train(
        _config(data, tmp_path / "run", steps=60, lr=1e-2, eval_every=0, eval_samples=32),
        progress=False,
    )
    meta = json.loads((run / "run.json").read_text())
    assert meta["format"] == "tokens" and meta["vocab_size"] == 16 and meta["tokenizer"] is None
    assert not (run / "tokenizer.json").exists()
    final = [e for e in _events(run) if e["type"] == "eval"][-1]["splits"]["test"]
    # the labelled positions echo the current input: learnable at once
    assert final["token_accuracy"] > 0.9


def test_tokens_vocab_smaller_than_data_is_rejected(
    tokens_dataset: Callable, tmp_path: Path
) -> None:
    """Caught from the data set's declared vocabulary, before any file is written (not
    late, by the codec meeting an id >= 8)."""
    data = tokens_dataset(vocab=16)
    with pytest.raises(
        ConfigError,
        match=r"^tokenizer/vocab mismatch: vocab_size 8 is smaller than the data set's 16$",
    ):
        train(_config(data, tmp_path / "run", vocab_size=8), progress=False)
    assert not (tmp_path / "run").exists()


def test_missing_train_split(toy: SimpleNamespace, tmp_path: Path) -> None:
    data = toy.write(tmp_path / "d", {"test": toy.copy_items(8, 0)})
    with pytest.raises(DataError, match="no 'train' split"):
        train(_config(data, tmp_path / "run"), progress=False)


MODEL = ("--model", "attention*2", "--scale", "smoke")


def _cli(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    with pytest.raises(SystemExit) as exit_info:
        main(args)
    err = capsys.readouterr().err.strip()
    return int(exit_info.value.code), err


def _train_args(data: Path, out: Path, *extra: str) -> list[str]:
    return ["train", "--data", str(data), "--out", str(out), "--tokenizer", "char",
            "--steps", "4", "--batch-size", "8", "--eval-every", "0", "-q", *extra]  # fmt: skip


def test_cli_errors_are_one_line(
    copy_dataset: Callable,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    data = copy_dataset(64, 8)
    out = tmp_path / "run"
    cases = [
        (
            _train_args(tmp_path / "missing", out, *MODEL),
            "data directory not found",
        ),
        (_train_args(data, out, "--model", "nosuchspec"), "unknown mixer 'nosuchspec'"),
        (
            _train_args(data, out, *MODEL, "--lr", "-1"),
            "field 'lr'",
        ),
    ]
    for args, expected in cases:
        code, err = _cli(args, capsys)
        assert code != 0
        assert err.startswith("error: ") and expected in err and "\n" not in err, err
    assert not out.exists()  # a failed start leaves nothing behind
    main(_train_args(data, out, *MODEL))
    capsys.readouterr()
    code, err = _cli(_train_args(data, out, *MODEL), capsys)
    assert code != 0 and "--resume" in err and "\n" not in err
    other = copy_dataset(65, 8, name="other")
    for args, expected in [
        (
            _train_args(
                data,
                out,
                "--model",
                "attention*2",
                "--scale",
                "smoke",
                "--resume",
                "--batch-size",
                "4",
            ),
            "batch_size",
        ),
        (_train_args(data, out, *MODEL, "--resume", "--tie-embeddings"), "tie_embeddings"),
        (
            _train_args(other, out, *MODEL, "--resume"),
            "data set differs",
        ),
    ]:
        code, err = _cli(args, capsys)
        assert code != 0 and "incompatible checkpoint" in err and expected in err, err
        assert "\n" not in err


def test_cli_resume_needs_only_the_run_dir(
    copy_dataset: Callable, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "run"
    main(
        _train_args(
            copy_dataset(64, 8),
            out,
            "--model",
            "attention*2",
            "--scale",
            "smoke",
            "--stop-after",
            "2",
            "--tie-embeddings",  # what a run from before the two knobs was trained with
            "--init",
            "gpt2",
        )
    )
    assert latest_checkpoint(out).name == "step-00000002"
    run_json = out / "run.json"  # as written before the tie_embeddings/init knobs existed
    saved = json.loads(run_json.read_text())
    for section in (saved["config"], saved["model"]):
        del section["tie_embeddings"], section["init"]
    run_json.write_text(json.dumps(saved))
    main(["train", "--out", str(out), "--resume", "-q"])
    assert latest_checkpoint(out).name == "step-00000004"
    assert "run written to" in capsys.readouterr().out


@pytest.mark.parametrize("logger", ["tensorboard", "wandb"])
def test_optional_loggers(
    logger: str, copy_dataset: Callable, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Asked for and missing: one error line before anything is written; present: used."""
    import importlib.util

    out = tmp_path / "run"
    args = _train_args(copy_dataset(64, 8), out, *MODEL, f"--{logger}")
    if importlib.util.find_spec(logger) is None:
        code, err = _cli(args, capsys)
        assert code != 0 and f"needs the '{logger}' package" in err and "\n" not in err
        assert not out.exists()
    elif logger == "tensorboard":
        main(args)
        assert any((out / "tensorboard").iterdir())
    else:
        pytest.skip("wandb is installed: test_wandb_offline_run runs it")


def test_wandb_offline_run(
    copy_dataset: Callable, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The success path without an account: WANDB_MODE=offline writes the run to RUN/wandb,
    named by the flags (the project from the environment, as wandb's own variable)."""
    pytest.importorskip("wandb")
    from lolameme.training.metrics_log import MetricsLog

    monkeypatch.setenv("WANDB_MODE", "offline")
    monkeypatch.setenv("WANDB_SILENT", "true")
    monkeypatch.setenv("WANDB_PROJECT", "from-env")
    names: dict[str, str] = {}
    real_init = MetricsLog.__init__

    def spy(self: MetricsLog, *args: object, **kwargs: object) -> None:
        real_init(self, *args, **kwargs)
        if self._wandb is not None:
            run = self._wandb
            names.update(project=run.project, name=run.name, group=run.group)

    monkeypatch.setattr(MetricsLog, "__init__", spy)
    out = tmp_path / "run"
    args = ["--wandb", "--wandb-name", "gpt2-seed0", "--wandb-group", "thex"]
    main(_train_args(copy_dataset(64, 8), out, *MODEL, *args))
    assert names == {"project": "from-env", "name": "gpt2-seed0", "group": "thex"}
    runs = list((out / "wandb").glob("offline-run-*"))
    assert len(runs) == 1 and any(runs[0].glob("*.wandb"))  # the logged history
    saved = json.loads((out / "run.json").read_text())["config"]
    assert saved["wandb_group"] == "thex" and saved["wandb_project"] is None


def test_overwrite_replaces_a_run_only_once_the_new_one_can_start(
    copy_dataset: Callable, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data, out = copy_dataset(64, 8), tmp_path / "run"
    main(_train_args(data, out, *MODEL))
    assert latest_checkpoint(out).name == "step-00000004"
    code, err = _cli(_train_args(data, out, "--model", "nosuchspec", "--overwrite"), capsys)
    assert code != 0 and "unknown mixer" in err
    assert latest_checkpoint(out).name == "step-00000004"  # the old run is intact
    main([*_train_args(data, out, *MODEL, "--overwrite"), "--steps", "2"])
    assert latest_checkpoint(out).name == "step-00000002"
    assert [p.name for p in (out / "checkpoints").iterdir() if p.name.startswith("step")] == [
        "step-00000002"
    ]


def test_resume_with_a_foreign_tokenizer_is_one_error(
    copy_dataset: Callable, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from lolameme.runs.tokenizer import train_char

    data, out = copy_dataset(64, 8), tmp_path / "run"
    main(_train_args(data, out, *MODEL, "--stop-after", "2"))
    train_char(["only these letters"]).save(out / "tokenizer.json")
    code, err = _cli(["train", "--out", str(out), "--resume", "-q"], capsys)
    assert code != 0 and err.startswith("error: tokenizer/vocab mismatch") and "\n" not in err


def test_progress_bar_shows_the_latest_eval_em(
    copy_dataset: Callable, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    run = train(_config(copy_dataset(128, 16), tmp_path / "run"), progress=True)
    bar = capsys.readouterr().err
    last = [e for e in _events(run) if e["type"] == "eval"][-1]["splits"]["test"]["em"]
    assert f"em={last:.3f}" in bar and "loss=" in bar


def test_eval_postfix_names_each_split_briefly() -> None:
    splits = {
        "test_with_global": {"em": 0.2134},
        "test_without_global": {"em": 0.15},
        "test": {"em": 1.0},
        "other": {"loss": 2.0},  # no em: not shown
    }
    assert trainer_module.eval_postfix(splits) == {
        "em_with": "0.213",
        "em_without": "0.150",
        "em": "1.000",
    }


def _weights(run: Path) -> dict[str, torch.Tensor]:
    return load_file(latest_checkpoint(run) / "model.safetensors")


def test_init_from_starts_from_the_source_weights_with_a_fresh_optimiser(
    copy_dataset: Callable, tmp_path: Path
) -> None:
    from lolameme.training.distributed import Distributed

    source = train(_config(copy_dataset(128, 16), tmp_path / "pre", steps=4), progress=False)
    other = copy_dataset(96, 16, name="finetune")  # other rows, shorter max length or not
    config = _config(other, tmp_path / "ft", init_from=source, steps=4)
    run = trainer_module._Session(config, Distributed.from_env(), torch.device("cpu"), False, None)
    loaded = run.model.state_dict()
    saved = _weights(source)
    assert set(saved) <= set(loaded)
    for name, tensor in saved.items():
        assert loaded[name].shape == tensor.shape, name
        assert torch.equal(loaded[name], tensor), name
    assert run.step == 0 and not run.optimizer.state  # fresh optimiser and schedule
    source_meta = json.loads((source / "run.json").read_text())
    assert run.data.max_seq_len == source_meta["max_seq_len"]
    assert run.data.codec.tokenizer.hf.to_str() == (source / "tokenizer.json").read_text()

    finetuned = train(config, progress=False)
    meta = json.loads((finetuned / "run.json").read_text())
    assert meta["init_from"]["step"] == 4 and meta["init_from"]["run"] == str(source.resolve())
    assert meta["config"]["init_from"] == str(source)
    assert (finetuned / "tokenizer.json").read_text() == (source / "tokenizer.json").read_text()
    after = _weights(finetuned)
    assert any(not torch.equal(after[name], saved[name]) for name in saved)  # it trained
    fresh = train(_config(other, tmp_path / "fresh", steps=4), progress=False)
    first = lambda run: next(e["loss"] for e in _events(run) if e["type"] == "train")  # noqa: E731
    assert first(finetuned) != first(fresh)  # the loaded weights, not a new init, were trained


def test_init_from_run_resumes_exactly(copy_dataset: Callable, tmp_path: Path) -> None:
    data = copy_dataset(128, 16)
    source = train(_config(data, tmp_path / "pre", steps=3), progress=False)
    straight = train(_config(data, tmp_path / "a", init_from=source, steps=6), progress=False)
    train(_config(data, tmp_path / "b", init_from=source, steps=6, stop_after=3), progress=False)
    resumed = train(
        _config(data, tmp_path / "b", init_from=source, steps=6, resume=True), progress=False
    )
    a, b = _weights(straight), _weights(resumed)
    assert a and a.keys() == b.keys()
    for name in a:
        assert torch.equal(a[name], b[name]), name
    losses = lambda run: [(e["step"], e["loss"]) for e in _events(run) if e["type"] == "train"]  # noqa: E731
    assert losses(straight) == losses(resumed)
    assert [step for step, _ in losses(resumed)] == [3, 6]


def test_init_from_an_incompatible_run_is_one_error(
    copy_dataset: Callable, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = copy_dataset(64, 8)
    source = tmp_path / "pre"
    main(_train_args(data, source, *MODEL))
    capsys.readouterr()
    cases = [
        (("--model", "attention*3", "--scale", "smoke"), "spec 'attention*2'"),
        (("--model", "gpt2", "--scale", "smoke"), "spec 'attention*2'"),
        ((*MODEL, "--tie-embeddings"), "tie_embeddings"),
        ((*MODEL, "--loss", "answer"), "loss was 'full'"),
        ((*MODEL, "--max-seq-len", "512"), "max_seq_len"),
    ]
    for extra, expected in cases:
        out = tmp_path / "ft"
        code, err = _cli(_train_args(data, out, *extra, "--init-from", str(source)), capsys)
        assert code != 0 and err.startswith("error: --init-from") and expected in err, err
        assert "\n" not in err and not out.exists()
    code, err = _cli(
        _train_args(data, tmp_path / "ft", *MODEL, "--init-from", str(tmp_path / "nope")), capsys
    )
    assert code != 0 and "run directory not found" in err and "\n" not in err
    bpe = _train_args(data, tmp_path / "ft", *MODEL, "--init-from", str(source))
    bpe[bpe.index("char")] = "bpe"
    code, err = _cli(bpe, capsys)
    assert code != 0 and "tokenizer was 'char', now 'bpe'" in err and "\n" not in err


def test_init_from_accepts_the_vocab_size_its_source_asked_for(
    copy_dataset: Callable, tmp_path: Path
) -> None:
    """BPE learns fewer tokens than asked for on a small corpus; a second stage that asks
    for the same size as its first (a two-stage experiment cell does) is no mismatch."""
    data = copy_dataset(64, 8)
    source = tmp_path / "pre"
    train(_config(data, source, tokenizer="bpe", vocab_size=4096, steps=2), progress=False)
    learnt = json.loads((source / "run.json").read_text())["vocab_size"]
    assert learnt < 4096
    second = _config(
        data, tmp_path / "ft", tokenizer="bpe", vocab_size=4096, steps=2, init_from=source
    )
    train(second, progress=False)
    assert json.loads((tmp_path / "ft" / "run.json").read_text())["vocab_size"] == learnt
    with pytest.raises(TrainingError, match=f"vocab_size is {learnt} there, now 2048"):
        train(
            _config(data, tmp_path / "ft2", tokenizer="bpe", vocab_size=2048, init_from=source),
            progress=False,
        )
