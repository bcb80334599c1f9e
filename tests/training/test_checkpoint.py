"""Checkpoints: tied weights survive, and a crash at any point leaves a loadable one."""

from pathlib import Path

import pytest
import torch

from lolameme.errors import TrainingError
from lolameme.runs import checkpoint as ckpt


def _model(seed: int, width: int = 16) -> torch.nn.Module:
    torch.manual_seed(seed)
    model = torch.nn.Sequential(torch.nn.Embedding(10, width), torch.nn.Linear(width, 10))
    model[1].weight = model[0].weight  # tied, as in GPT-2
    return model


def test_round_trip_keeps_tied_weights(tmp_path: Path) -> None:
    model = _model(0)
    ckpt.save_checkpoint(tmp_path, 5, model, {"step": 5})
    again = _model(1)
    assert not torch.equal(again[0].weight, model[0].weight)
    latest = ckpt.latest_checkpoint(tmp_path)
    ckpt.load_weights(again, latest)
    assert torch.equal(again[0].weight, model[0].weight)
    assert again[1].weight is again[0].weight
    assert ckpt.load_state(latest)["step"] == 5
    assert ckpt.checkpoint_step(latest) == 5


def test_the_two_newest_are_kept(tmp_path: Path) -> None:
    """The one before the latest stays, for a resume to fall back to if the latest breaks."""
    model = _model(0)
    for step in (1, 2, 3):
        ckpt.save_checkpoint(tmp_path, step, model, {"step": step})
    names = [p.name for p in ckpt.list_checkpoints(tmp_path)]
    assert names == ["step-00000002", "step-00000003"]


def test_crash_while_saving_keeps_the_previous_checkpoint(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    good = _model(0)
    ckpt.save_checkpoint(tmp_path, 10, good, {"step": 10})

    def die(*args: object, **kwargs: object) -> None:
        raise KeyboardInterrupt("killed while writing state.pt")

    monkeypatch.setattr(ckpt.torch, "save", die)
    with pytest.raises(KeyboardInterrupt):
        ckpt.save_checkpoint(tmp_path, 20, _model(1), {"step": 20})
    monkeypatch.undo()
    latest = ckpt.latest_checkpoint(tmp_path)
    assert latest is not None and latest.name == "step-00000010"
    restored = _model(2)
    ckpt.load_weights(restored, latest)
    assert torch.equal(restored[0].weight, good[0].weight)
    assert sorted(p.name for p in (tmp_path / "checkpoints").iterdir()) == [
        "latest",
        "step-00000010",
    ]


def test_hard_kill_leftovers_are_ignored(tmp_path: Path) -> None:
    """A SIGKILL leaves a hidden partial directory, a new dir not yet named by latest,
    or a latest that names no checkpoint."""
    model = _model(0)
    ckpt.save_checkpoint(tmp_path, 10, model, {"step": 10})
    root = tmp_path / "checkpoints"
    partial = root / ".step-00000020.partial-abc"
    partial.mkdir()
    (partial / ckpt.WEIGHTS).write_bytes(b"half")
    assert ckpt.latest_checkpoint(tmp_path).name == "step-00000010"
    # killed after the rename but before `latest` moved: `latest` still names the older,
    # complete checkpoint and is used; the newer one is only a fallback after it
    ckpt.save_checkpoint(tmp_path, 30, model, {"step": 30}, keep=2)
    (root / ckpt.LATEST).write_text("step-00000010\n")
    assert ckpt.latest_checkpoint(tmp_path).name == "step-00000010"
    names = [p.name for p in ckpt.resume_candidates(tmp_path)]
    assert names == ["step-00000010", "step-00000030"]
    # `latest` names nothing that exists: the newest complete checkpoint is used
    (root / ckpt.LATEST).write_text("step-00000099\n")
    assert ckpt.latest_checkpoint(tmp_path).name == "step-00000030"
    names = [p.name for p in ckpt.resume_candidates(tmp_path)]
    assert names == ["step-00000030", "step-00000010"]


def test_shape_mismatch_is_one_clear_error(tmp_path: Path) -> None:
    ckpt.save_checkpoint(tmp_path, 1, _model(0, width=16), {"step": 1})
    with pytest.raises(TrainingError, match="does not fit"):
        ckpt.load_weights(_model(0, width=8), ckpt.latest_checkpoint(tmp_path))
