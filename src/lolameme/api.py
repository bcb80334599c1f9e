"""The Python face of a trained run: ``run = lolameme.load_run(path)``, ``run.predict([...])``.

::

    import lolameme

    run = lolameme.load_run("runs/thex13")
    run.predict(["a = 3;print(a)"])          # ['3'] once the model has learnt the task
    run.model, run.tokenizer, run.config      # a torch module, the tokenizer, the TrainConfig

The object bundles what used to take four modules (the run layout, the codec, greedy
decoding and the interpreter); the pieces stay public in their layers.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from lolameme.errors import LolamemeError

if TYPE_CHECKING:
    import torch

    from lolameme.evaluation.predict import Prediction
    from lolameme.runs.directory import LoadedRun
    from lolameme.runs.tokenizer import TextTokenizer
    from lolameme.training.config import TrainConfig


@dataclass
class Run:
    """A trained run, loaded from its directory (latest checkpoint), ready to answer."""

    loaded: LoadedRun

    @property
    def path(self) -> Path:
        return self.loaded.path

    @property
    def model(self) -> torch.nn.Module:
        """The :class:`~lolameme.models.LanguageModel` with the latest weights, in eval mode."""
        return self.loaded.model

    @property
    def tokenizer(self) -> TextTokenizer | None:
        """The run's tokenizer (``tokenizer.hf`` is the ``tokenizers.Tokenizer``); None for
        runs on ``tokens`` data (MQAR), whose rows are token ids already."""
        return getattr(self.loaded.codec, "tokenizer", None)

    @property
    def config(self) -> TrainConfig:
        """The training configuration the run was made with."""
        from lolameme.training.config import TrainConfig

        return TrainConfig.model_validate(self.loaded.meta["config"])

    @property
    def meta(self) -> dict[str, Any]:
        """All of ``run.json``: data set path and fingerprint, lengths, model config."""
        return self.loaded.meta

    @property
    def step(self) -> int:
        """The optimiser step of the loaded checkpoint."""
        return self.loaded.step

    def predict(
        self,
        programs: Sequence[str],
        *,
        language: str | None = None,
        batch_size: int = 256,
    ) -> list[str]:
        """The model's answer to each program (greedy, as ``lolameme eval`` decodes).

        A malformed LoLa/MeMe program raises its :class:`~lolameme.languages.ParseError`
        message with its index; use :meth:`predict_items` to keep going past it.
        """
        items = self.predict_items(programs, language=language, batch_size=batch_size)
        for i, item in enumerate(items):
            if item.error is not None:
                raise LolamemeError(f"program {i}: {item.error}")
        return [str(item.prediction) for item in items]

    def predict_items(
        self,
        programs: Sequence[str],
        *,
        language: str | None = None,
        globals: Mapping[str, int] | None = None,
        batch_size: int = 256,
    ) -> list[Prediction]:
        """Per program: the text read, the prediction, and the interpreter's ``label`` and
        ``correct`` when globals are known (the data set's, or ``globals``); a malformed
        program gets ``error`` and no prediction."""
        from lolameme.evaluation.predict import predict

        return predict(
            self.loaded, programs, language=language, globals=globals, batch_size=batch_size
        )


def load_run(path: str | Path, device: str = "auto") -> Run:
    """Load a run directory written by ``lolameme train`` (latest checkpoint), or a
    directory written by ``lolameme export --format safetensors``."""
    from lolameme.export import open_run

    return Run(open_run(path, device=device))


def train(config: TrainConfig, progress: bool = True) -> Path:
    """Train ``config`` as ``lolameme train`` does, periodic evaluation included; return
    the run directory.

    The training loop takes its periodic evaluation as a callback, since ``training``
    never imports ``evaluation``; this is where the two are joined for Python users
    (``lolameme.training.train`` alone logs no ``eval`` events).
    """
    from lolameme.evaluation.evaluate import evaluate_frame
    from lolameme.training.trainer import train as train_loop

    return train_loop(config, progress, evaluate=evaluate_frame)
