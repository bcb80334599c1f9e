"""Answers of a trained run to new programs: what ``lolameme predict`` and ``Run.predict`` do.

Each program is turned into the prompt the run was trained on (``<bos> program <sep>``)
and greedily decoded until ``<eos>``, exactly as ``lolameme eval`` decodes a test item,
so a prediction here equals the one ``eval`` writes for the same text.

For runs trained on LoLa/MeMe data, every program is parsed first: a malformed one
gets the parser's one-line error and no prediction, and the others still run. With
``language``, a program is re-rendered in that language (canonical spacing, the
data set's spelling) before the model reads it. When the globals are known (the run's
data set has a ``globals.json``, or the caller passes a table), the interpreter labels
each program with the data set's latent types, and ``correct`` is the exact match.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from lolameme.errors import DataError, LolamemeError
from lolameme.evaluation.metrics import exact_match
from lolameme.runs.batching import TextCodec
from lolameme.runs.directory import LoadedRun

LANGUAGES = ("lola", "meme")
LOLAMEME_TASK = "lolameme"


@dataclass(frozen=True)
class Prediction:
    """One program's outcome; ``error`` is set (and ``prediction`` None) when it failed."""

    program: str
    prediction: str | None
    label: str | None = None
    correct: bool | None = None
    error: str | None = None

    def to_json(self) -> dict[str, Any]:
        """The fields that apply: no label keys when no label was computed."""
        out: dict[str, Any] = {"program": self.program, "prediction": self.prediction}
        if self.label is not None:
            out["label"] = self.label
            out["correct"] = self.correct
        if self.error is not None:
            out["error"] = self.error
        return out


@dataclass(frozen=True)
class Labeller:
    """The interpreter with a data set's globals and latent types."""

    globals: Mapping[str, int]
    latent: Any

    def label(self, program: Any) -> str | None:
        """The program's value as a label, or None when it cannot run (e.g. reads a name
        that is neither assigned nor a global: then there is no true answer to compare)."""
        from lolameme.languages import EvaluationError, evaluate

        try:
            return str(evaluate(program, dict(self.globals), self.latent))
        except EvaluationError:
            return None


def run_labeller(run: LoadedRun, globals: Mapping[str, int] | None = None) -> Labeller | None:
    """The interpreter setting of the run's data set; None when no globals are known.

    ``globals`` replaces the data set's table. The latent types come from the data set's
    config; when that data set is gone, from the generator's defaults.
    """
    from lolameme.data.store import open_dataset
    from lolameme.data.tasks.lolameme.config import LolamemeConfig, latent_config

    if run.meta["data"].get("task", LOLAMEME_TASK) != LOLAMEME_TASK:
        return None
    config = LolamemeConfig()
    table: dict[str, int] = {}
    try:
        info = open_dataset(run.meta["data"]["path"])
        config = LolamemeConfig.model_validate(info.config())
        table = info.globals()
    except (LolamemeError, ValueError):  # ValueError: pydantic's, a config of another kind
        pass  # the data set moved or was deleted: labels need --globals then
    if globals is not None:
        table = dict(globals)
    if not table:
        return None
    return Labeller(table, latent_config(config))


def _text_codec(run: LoadedRun) -> TextCodec:
    if not isinstance(run.codec, TextCodec):
        raise DataError(
            f"{run.path} was trained on '{run.format}' data ({run.meta['data'].get('task')}): "
            "predict answers text programs only"
        )
    return run.codec


def predict(
    run: LoadedRun,
    programs: Sequence[str],
    *,
    language: str | None = None,
    globals: Mapping[str, int] | None = None,
    batch_size: int = 256,
    progress: bool = False,
) -> list[Prediction]:
    """One :class:`Prediction` per program, in order; a bad program never stops the rest."""
    from lolameme.evaluation.decode import greedy_decode

    codec = _text_codec(run)
    is_lolameme = run.meta["data"].get("task", LOLAMEME_TASK) == LOLAMEME_TASK
    if language is not None and language not in LANGUAGES:
        raise DataError(f"unknown language '{language}' (valid: {', '.join(LANGUAGES)})")
    for option, value in (("--language", language), ("--globals", globals)):
        if value is not None and not is_lolameme:
            task = run.meta["data"]["task"]
            raise DataError(f"{option} applies to LoLa/MeMe runs, not '{task}'")
    labeller = run_labeller(run, globals) if is_lolameme else None
    texts: list[str] = []
    labels: list[str | None] = []
    errors: list[str | None] = []
    for text in programs:
        error = _not_utf8(text)
        if error is not None:  # the tokenizer takes no lone surrogates: never into a batch
            label = None
        elif is_lolameme:
            text, label, error = _read(text, language, labeller)
        else:
            label = None
        texts.append(text)
        labels.append(label)
        errors.append(error)
    max_new = int(run.meta["max_answer_tokens"])
    max_len = int(run.meta["max_seq_len"])
    prompts = codec.prompts([t if errors[i] is None else "" for i, t in enumerate(texts)])
    # An answer may use the positions the prompt leaves, up to the run's answer limit.
    limits: dict[int, list[int]] = {}
    for i, prompt in enumerate(prompts):
        if errors[i] is not None:
            continue
        if len(prompt) >= max_len:
            errors[i] = (
                f"the program is {len(prompt)} tokens long with <bos> and <sep>, "
                f"but the model was built for {max_len} positions"
            )
        else:
            limits.setdefault(min(max_new, max_len - len(prompt)), []).append(i)
    answers: dict[int, str] = {}
    for limit, members in sorted(limits.items()):
        decoded = greedy_decode(
            run.model,
            [prompts[i] for i in members],
            max_new_tokens=limit,
            eos_id=codec.eos_id,
            batch_size=batch_size,
            device=run.device,
            progress=progress,
            desc="predict",
        )
        answers.update(
            (i, codec.decode_answer(ids)) for i, ids in zip(members, decoded, strict=True)
        )
    out = []
    for i, text in enumerate(texts):
        prediction, label = answers.get(i), labels[i]
        correct = None if label is None or prediction is None else exact_match(prediction, label)
        out.append(Prediction(text, prediction, label, correct, errors[i]))
    return out


def _not_utf8(text: str) -> str | None:
    """The error of a program that is not UTF-8 text, else None.

    Bytes that are not UTF-8 (a Latin-1 file on stdin, ``$'\\xff'`` in a shell) reach
    Python as lone surrogates (``surrogateescape``), which the tokenizer cannot encode.
    """
    for position, char in enumerate(text):
        if "\ud800" <= char <= "\udfff":
            byte = f"byte 0x{ord(char) - 0xDC00:02x}" if ord(char) >= 0xDC80 else "a surrogate"
            return f"not UTF-8 text: {byte} at character {position + 1}"
    return None


def _read(
    text: str, language: str | None, labeller: Labeller | None
) -> tuple[str, str | None, str | None]:
    """``(model input, label, error)`` of one LoLa/MeMe program text."""
    from lolameme.languages import parse, render

    text = text.strip()
    try:
        program = parse(text)
    except LolamemeError as exc:
        return text, None, str(exc)
    if language is not None:
        text = render(program, language)  # type: ignore[arg-type]
    return text, labeller.label(program) if labeller else None, None
