"""Loss and exact match of a model on data-set splits, and ``lolameme eval RUN``.

The same functions serve the periodic evaluation inside training (on a fixed sample)
and the full evaluation of a finished run, so both report the same numbers.

- ``text`` splits: greedy-decode the answer after ``<sep>``; exact match per item;
  loss = mean next-token cross-entropy over the run's loss positions (the same
  quantity the training loss is), and ``answer_loss`` over the label tokens and
  ``<eos>`` only (comparable across runs trained with either loss). Both come from the
  decoding pass itself (see :mod:`lolameme.evaluation.decode`).
- ``tokens`` splits (MQAR): no decoding; ``token_accuracy`` is argmax accuracy over the
  labelled positions and ``em`` the share of sequences with every labelled position right.
- Both: zoology's recall-gap split of the same teacher-forced predictions
  (:mod:`lolameme.evaluation.recall`), ``ar_hits`` and ``other``, each
  ``{"loss", "acc", "count"}``; for text it is tallied inside the decoding pass, over
  the positions the run's loss counts.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from lolameme.data.store import IGNORE_INDEX
from lolameme.errors import DataError
from lolameme.evaluation.decode import decode
from lolameme.evaluation.metrics import em_breakdown, exact_match
from lolameme.evaluation.recall import RecallTally
from lolameme.runs.batching import Codec, EncodedSplit, TextCodec, sorted_batches
from lolameme.runs.precision import autocast

TEXT_COLUMNS = ("program", "label")
TOKEN_COLUMNS = ("inputs", "targets")


def forward_stats(
    model: torch.nn.Module,
    encoded: EncodedSplit,
    *,
    pad_id: int,
    batch_size: int,
    device: torch.device,
    recall: RecallTally | None = None,
) -> dict[str, np.ndarray]:
    """Per-row sums over labelled positions: ``loss`` (cross-entropy), ``n`` (positions)
    and ``correct`` (argmax hits). One teacher-forced forward pass per batch.
    ``recall``, if given, also receives every batch (AR hits vs other tokens)."""
    rows = len(encoded)
    stats = {k: np.zeros(rows) for k in ("loss", "n", "correct")}
    was_training = model.training
    model.eval()
    with torch.inference_mode(), autocast(device):
        for idx in sorted_batches(encoded.lengths, batch_size):
            inputs, targets = (t.to(device) for t in encoded.batch(idx, pad_id))
            logits = model(inputs).float()
            mask = targets != IGNORE_INDEX
            ce = F.cross_entropy(
                logits.flatten(0, 1), targets.flatten(), ignore_index=IGNORE_INDEX, reduction="none"
            ).view_as(targets)
            hits = (logits.argmax(-1) == targets) & mask
            stats["loss"][idx] = ce.sum(1).double().cpu().numpy()
            stats["n"][idx] = mask.sum(1).cpu().numpy()
            stats["correct"][idx] = hits.sum(1).cpu().numpy()
            if recall is not None:
                recall.add(inputs, targets, ce, hits, mask)
    model.train(was_training)
    return stats


def _mean(total: np.ndarray, count: np.ndarray) -> float | None:
    n = float(count.sum())
    return float(total.sum() / n) if n else None


def evaluate_text(
    model: torch.nn.Module,
    codec: TextCodec,
    frame: Any,
    *,
    max_new_tokens: int,
    batch_size: int,
    device: torch.device,
    progress: bool = False,
    desc: str = "eval",
) -> tuple[Any, dict[str, Any]]:
    """Predictions frame (program, label, prediction, correct, metadata) and a summary."""
    programs = [str(p) for p in frame["program"]]
    labels = [str(label) for label in frame["label"]]
    recall = RecallTally()

    def tally(
        inputs: torch.Tensor,
        targets: torch.Tensor,
        ce: torch.Tensor,
        hits: torch.Tensor,
        answer_from: int,
    ) -> None:
        """Count the positions the run's loss counts: all, or the answer only."""
        mask = None
        if codec.loss == "answer":
            mask = torch.arange(targets.shape[1], device=targets.device) >= answer_from
            mask = mask.expand_as(targets)
        recall.add(inputs, targets, ce, hits, mask)

    decoded = decode(
        model,
        codec.prompts(programs),
        answers=codec.answers(labels),
        on_scored=tally,
        max_new_tokens=max_new_tokens,
        eos_id=codec.eos_id,
        batch_size=batch_size,
        device=device,
        progress=progress,
        desc=desc,
    )
    predictions = [codec.decode_answer(ids) for ids in decoded.tokens]
    if codec.loss == "full":
        loss = _mean(decoded.prompt_loss + decoded.answer_loss, decoded.prompt_n + decoded.answer_n)
    else:
        loss = _mean(decoded.answer_loss, decoded.answer_n)
    out = frame.reset_index(drop=True).copy()
    out["label"] = labels
    out["prediction"] = predictions
    out["correct"] = [exact_match(p, t) for p, t in zip(predictions, labels, strict=True)]
    summary = {
        "n": len(out),
        "em": float(out["correct"].mean()) if len(out) else None,
        "loss": loss,
        "answer_loss": _mean(decoded.answer_loss, decoded.answer_n),
        **recall.summary(),
        "by": em_breakdown(out, exclude={*TEXT_COLUMNS, "prediction"}),
    }
    return _front(out, [*TEXT_COLUMNS, "prediction", "correct"]), summary


def evaluate_tokens(
    model: torch.nn.Module,
    codec: Codec,
    frame: Any,
    *,
    batch_size: int,
    device: torch.device,
) -> tuple[Any, dict[str, Any]]:
    """Per-sequence counts (labelled, correct, all right) plus metadata, and a summary."""
    recall = RecallTally()
    stats = forward_stats(
        model,
        codec.encode(frame),
        pad_id=codec.pad_id,
        batch_size=batch_size,
        device=device,
        recall=recall,
    )
    out = frame.drop(columns=[c for c in TOKEN_COLUMNS if c in frame.columns])
    out = out.reset_index(drop=True).copy()
    out["n_labelled"] = stats["n"].astype(np.int64)
    out["n_correct"] = stats["correct"].astype(np.int64)
    out["correct"] = out["n_labelled"] == out["n_correct"]
    summary = {
        "n": len(out),
        "em": float(out["correct"].mean()) if len(out) else None,
        "token_accuracy": _mean(stats["correct"], stats["n"]),
        "loss": _mean(stats["loss"], stats["n"]),
        **recall.summary(),
        "by": em_breakdown(out, exclude={"n_labelled", "n_correct"}),
    }
    return _front(out, ["n_labelled", "n_correct", "correct"]), summary


def _front(frame: Any, first: list[str]) -> Any:
    return frame[first + [c for c in frame.columns if c not in first]]


def evaluate_frame(
    model: torch.nn.Module,
    codec: Codec,
    frame: Any,
    *,
    max_new_tokens: int | None,
    batch_size: int,
    device: torch.device,
    progress: bool = False,
    desc: str = "eval",
) -> tuple[Any, dict[str, Any]]:
    """Dispatch on the codec: decode text answers, or score token targets."""
    if isinstance(codec, TextCodec):
        if max_new_tokens is None:
            raise DataError("text evaluation needs max_new_tokens")
        return evaluate_text(
            model,
            codec,
            frame,
            max_new_tokens=max_new_tokens,
            batch_size=batch_size,
            device=device,
            progress=progress,
            desc=desc,
        )
    return evaluate_tokens(model, codec, frame, batch_size=batch_size, device=device)


def check_fits(codec: Codec, frame: Any, max_seq_len: int, max_new_tokens: int | None) -> None:
    """Fail clearly when an item is longer than the model's positions."""
    if isinstance(codec, TextCodec):
        longest = max((len(p) for p in codec.prompts(list(frame["program"]))), default=0)
        longest += max_new_tokens or 0
    else:
        longest = max((len(x) for x in frame["inputs"]), default=0)
    if longest > max_seq_len:
        raise DataError(f"items need {longest} positions but the model was built for {max_seq_len}")


def check_vocabulary(codec: Codec, frame: Any, where: str) -> None:
    """Fail clearly when items use symbols the run's encoding does not know: characters
    a character tokenizer never saw (they would all read as ``<unk>``), or token ids past
    the vocabulary."""
    if isinstance(codec, TextCodec):
        from lolameme.runs.tokenizer import UNK

        unk = codec.tokenizer.hf.token_to_id(UNK)  # type: ignore[attr-defined]
        if unk is None:
            return
        texts = [str(p) for p in frame["program"]] + [str(x) for x in frame["label"]]
        for text, ids in zip(texts, codec.tokenizer.encode_batch(texts), strict=True):
            if unk in ids:
                raise DataError(
                    f"{where}: the run's tokenizer cannot encode {text[:60]!r} (characters "
                    "it never saw in training); evaluate on data of the same language"
                )
    else:
        top = max((max(x, default=0) for x in frame["inputs"]), default=0)
        if top >= codec.vocab_size:
            raise DataError(
                f"{where}: token id {top} is outside the run's vocabulary of {codec.vocab_size}"
            )


def path_for_predictions(run_dir: Path, split: str) -> Path:
    return Path(run_dir) / f"predictions-{split}.parquet"
