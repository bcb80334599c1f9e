"""The run directory: what ``lolameme train`` writes and ``lolameme eval`` reads back.

Its files are named in :mod:`lolameme.runs.layout`.
``run.json`` holds everything needed to rebuild the model and the encoding without the
original command line, so evaluation and resumption depend on the directory alone.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from lolameme._io import atomic_write_json
from lolameme.data.store import DatasetInfo, fingerprint
from lolameme.errors import ConfigError, TrainingError
from lolameme.runs.batching import Codec, TextCodec, TokenCodec
from lolameme.runs.checkpoint import checkpoint_step, latest_checkpoint, load_weights
from lolameme.runs.devices import check_device
from lolameme.runs.layout import RUN_JSON, TOKENIZER
from lolameme.runs.tokenizer import TextTokenizer

# What every run.json holds (a file without them is damaged or foreign).
RUN_KEYS = ("config", "data", "format", "vocab_size", "max_seq_len", "model")


def build_model(
    spec: str, *, scale: str, vocab_size: int, max_seq_len: int, **options: Any
) -> torch.nn.Module:
    """A fresh model from a spec string (where the training loop calls the models layer);
    ``options`` are :func:`lolameme.models.build_model`'s model-wide keywords."""
    from lolameme.models import build_model as _build

    return _build(spec, scale=scale, vocab_size=vocab_size, max_seq_len=max_seq_len, **options)


def model_from_config(config: dict[str, Any]) -> torch.nn.Module:
    """Rebuild a model from the ``config_dict()`` saved in ``run.json`` (plugin mixers and
    model builders are imported again by the paths it records)."""
    from lolameme.models import model_from_config_dict

    return model_from_config_dict(config)


def data_fingerprint(info: DatasetInfo) -> str:
    """A hash of the data set's shard checksums: equal iff the same rows were generated."""
    return fingerprint(info)


def read_run(run_dir: str | Path) -> dict[str, Any]:
    """``RUN/run.json``, checked: a missing, foreign or damaged file is a TrainingError
    naming it (and the field), before eval, predict, export or a resume reads a value."""
    path = Path(run_dir) / RUN_JSON
    if not Path(run_dir).is_dir():
        raise TrainingError(f"run directory not found: {run_dir}")
    if not path.is_file():
        raise TrainingError(f"{run_dir} is not a lolameme run: no {RUN_JSON}")
    try:
        meta = json.loads(path.read_text())
    except json.JSONDecodeError as exc:
        raise TrainingError(f"{path}: not valid JSON ({exc.msg})") from None
    except UnicodeDecodeError:
        raise TrainingError(f"{path}: not valid JSON (not UTF-8 text)") from None
    missing = [k for k in RUN_KEYS if not isinstance(meta, dict) or k not in meta]
    if missing:
        raise TrainingError(f"{path}: damaged, not a lolameme run file (no {', '.join(missing)})")
    _check_fields(path, meta)
    return meta


def _is_int(value: object, minimum: int = 1) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= minimum


# The fields of run.json that eval, predict, export and a resume read, with their types:
# (where, name, check, what the value should be). A wrong type would otherwise be a
# TypeError deep inside decoding or the model card.
_FIELD_CHECKS: tuple[tuple[str | None, str, Any, str], ...] = (
    (None, "config", lambda v: isinstance(v, dict), "an object"),
    (None, "data", lambda v: isinstance(v, dict), "an object"),
    (None, "format", lambda v: v in ("text", "tokens"), "'text' or 'tokens'"),
    (None, "vocab_size", _is_int, "a positive integer"),
    (None, "max_seq_len", _is_int, "a positive integer"),
    (None, "max_answer_tokens", lambda v: v is None or _is_int(v), "a positive integer or null"),
    (None, "model", lambda v: v is None or isinstance(v, dict), "an object"),
    ("data", "path", lambda v: isinstance(v, str), "a string"),
    ("data", "fingerprint", lambda v: isinstance(v, str), "a string"),
    ("data", "task", lambda v: v is None or isinstance(v, str), "a string"),
    ("data", "splits", lambda v: isinstance(v, list), "a list"),
    ("config", "model", lambda v: isinstance(v, str), "a string"),
    ("config", "scale", lambda v: isinstance(v, str), "a string"),
    ("config", "loss", lambda v: v in ("full", "answer"), "'full' or 'answer'"),
)


def _check_fields(path: Path, meta: dict[str, Any]) -> None:
    """One TrainingError naming ``path`` and the first field of the wrong type."""
    for where, name, check, what in _FIELD_CHECKS:
        holder = meta if where is None else meta[where]
        if name not in holder:
            continue  # RUN_KEYS are checked already; the rest may predate the field
        value = holder[name]
        if not check(value):
            field = name if where is None else f"{where}.{name}"
            shown = json.dumps(value)
            shown = shown if len(shown) <= 40 else shown[:37] + "..."
            raise TrainingError(f"{path}: damaged, field '{field}' should be {what}, not {shown}")


def is_run(run_dir: str | Path) -> bool:
    """Whether ``run_dir`` holds a run lolameme wrote: a ``run.json`` that reads back.

    A file that merely has the name (another tool's, a damaged one) does not count, so
    ``train --overwrite`` never deletes a directory because of it.
    """
    try:
        read_run(run_dir)
    except (TrainingError, OSError):
        return False
    return True


def write_run(run_dir: Path, meta: dict[str, Any]) -> None:
    atomic_write_json(Path(run_dir) / RUN_JSON, meta)


def make_codec(meta: dict[str, Any], run_dir: Path) -> Codec:
    """The encoder/decoder a run was trained with, with its vocabulary checked."""
    if meta["format"] == "tokens":
        return TokenCodec(int(meta["vocab_size"]))
    tokenizer = TextTokenizer.load(Path(run_dir) / TOKENIZER)
    if tokenizer.vocab_size != int(meta["vocab_size"]):
        raise TrainingError(
            f"tokenizer/vocab mismatch: {Path(run_dir) / TOKENIZER} has "
            f"{tokenizer.vocab_size} tokens but the model was built for {meta['vocab_size']}"
        )
    return TextCodec(tokenizer, meta["config"]["loss"])


def resolve_device(name: str) -> torch.device:
    """The torch device of an ``auto``/``cpu``/``cuda`` name (anything else: ConfigError)."""
    check_device(name)
    if name == "cuda" and not torch.cuda.is_available():
        raise ConfigError("device 'cuda' requested but torch sees no CUDA device")
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(name)


@dataclass
class LoadedRun:
    """A trained run ready for evaluation: metadata, codec and the latest weights."""

    path: Path
    meta: dict[str, Any]
    codec: Codec
    model: torch.nn.Module
    step: int
    device: torch.device

    @property
    def format(self) -> str:
        return str(self.meta["format"])


def load_run(run_dir: str | Path, device: str = "auto") -> LoadedRun:
    """Read ``run.json``, the tokenizer and the latest checkpoint's weights."""
    run_dir = Path(run_dir)
    target = resolve_device(device)  # a bad --device fails before anything is read
    meta = read_run(run_dir)
    codec = make_codec(meta, run_dir)
    checkpoint = latest_checkpoint(run_dir)
    if checkpoint is None:
        raise TrainingError(f"{run_dir} has no checkpoint yet (train it first)")
    model = model_from_config(meta["model"])
    load_weights(model, checkpoint)
    model.to(target).eval()
    return LoadedRun(run_dir, meta, codec, model, checkpoint_step(checkpoint), target)
