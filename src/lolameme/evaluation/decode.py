"""Batched greedy decoding of answers, scored against the labels in the same pass.

Prompts are grouped by token length, so every batch's prompts form a rectangle with no
padding at all: convolutional mixers (Hyena) see absolute positions, and left padding
would shift them. Within a group, items are sorted by label length, so a batch's labels
are of similar length. Each batch then costs one parallel pass and a few steps:

- ``model.prefill`` over the prompt followed by its label tokens (right-padded, which
  a causal model never sees from earlier positions), with ``keep`` = the prompt length:
  its logits give the teacher-forced loss of the whole sequence, and the state it
  returns is the one after the prompt alone;
- greedy decoding from that state, one token at a time through ``model.step``, until
  every row has produced ``<eos>`` or ``max_new_tokens``. When the labels are known, a
  batch stops earlier, ``ANSWER_SLACK`` tokens after its longest label + ``<eos>``: an
  item is right only if its first ``len(label) + 1`` tokens are the label and
  ``<eos>``, so later tokens cannot change any exact match (the slack covers a model
  spelling a label in more, non-canonical BPE tokens). For an untrained model, which
  never stops, this halves the decoding steps.

Scoring inside the prefill replaced teacher-forced steps (one step per label token,
much dearer per token than a parallel pass). ``cached=False`` recomputes the whole
sequence at every step instead: the baseline of ``benchmarks/bench_eval.py``, and the
path for models without incremental decoding.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np
import torch
import torch.nn.functional as F

from lolameme.data.store import IGNORE_INDEX
from lolameme.runs.precision import autocast

ANSWER_SLACK = 2


@dataclass
class Decoded:
    """Per item: generated ids (``<eos>`` kept) and, when answers were given, the summed
    cross-entropy and target counts of the prompt part and of the answer part."""

    tokens: list[list[int]]
    prompt_loss: np.ndarray = field(default_factory=lambda: np.zeros(0))
    prompt_n: np.ndarray = field(default_factory=lambda: np.zeros(0))
    answer_loss: np.ndarray = field(default_factory=lambda: np.zeros(0))
    answer_n: np.ndarray = field(default_factory=lambda: np.zeros(0))


def _ce(logits: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    """Cross-entropy of each target (same shape as ``targets``; 0 where ``-100``)."""
    ce = F.cross_entropy(
        logits.float().flatten(0, -2),
        targets.flatten(),
        ignore_index=IGNORE_INDEX,
        reduction="none",
    )
    return ce.view(targets.shape)


def _padded(rows: Sequence[Sequence[int]], device: torch.device) -> torch.Tensor:
    width = max(len(r) for r in rows)
    out = torch.full((len(rows), width), IGNORE_INDEX, dtype=torch.long)
    for i, r in enumerate(rows):
        out[i, : len(r)] = torch.tensor(list(r), dtype=torch.long)
    return out.to(device)


def _greedy(
    model: torch.nn.Module,
    ids: torch.Tensor,
    first: torch.Tensor,
    state: object,
    max_new_tokens: int,
    eos_id: int,
    cached: bool,
) -> torch.Tensor:
    """Continue from ``first`` (the argmax after the prompt) until all rows hit eos."""
    token = first
    generated = [token]
    done = token == eos_id
    seq = ids
    for _ in range(max_new_tokens - 1):
        if bool(done.all()):
            break
        if cached:
            logits, state = model.step(token, state)
            token = logits.argmax(-1)
        else:
            seq = torch.cat([seq, token[:, None]], dim=1)
            token = model(seq)[:, -1].argmax(-1)
        generated.append(token)
        done |= token == eos_id
    return torch.stack(generated, dim=1).cpu()


# Called per scored batch with the whole teacher-forced sequence: inputs, targets,
# per-position cross-entropy and argmax hits (all [B, L]), and the index of the first
# answer target (earlier targets are the prompt's own next tokens).
ScoreHook = Callable[[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor, int], None]


def decode(
    model: torch.nn.Module,
    prompts: Sequence[Sequence[int]],
    *,
    max_new_tokens: int,
    eos_id: int,
    answers: Sequence[Sequence[int]] | None = None,
    on_scored: ScoreHook | None = None,
    batch_size: int = 256,
    device: torch.device | None = None,
    cached: bool = True,
    progress: bool = False,
    desc: str = "decode",
) -> Decoded:
    """Greedy continuations of ``prompts``; with ``answers``, also their teacher-forced loss
    (and ``on_scored`` sees every scored batch, e.g. for the recall-gap tally)."""
    from tqdm.auto import tqdm

    device = device or next(model.parameters()).device
    cached = cached and hasattr(model, "prefill") and hasattr(model, "step")
    groups: dict[int, list[int]] = {}
    for i, prompt in enumerate(prompts):
        groups.setdefault(len(prompt), []).append(i)
    if answers is not None:  # similar label lengths in a batch: similar decoding limits
        groups = {n: sorted(m, key=lambda i: len(answers[i])) for n, m in groups.items()}
    n = len(prompts)
    out = Decoded([[] for _ in prompts], *(np.zeros(n) for _ in range(4)))
    was_training = model.training
    model.eval()
    with (
        tqdm(total=n, desc=desc, disable=not progress, leave=False) as bar,
        torch.inference_mode(),
        autocast(device),
    ):
        for length in sorted(groups):
            members = groups[length]
            for start in range(0, len(members), batch_size):
                chunk = members[start : start + batch_size]
                ids = torch.tensor([list(prompts[i]) for i in chunk], device=device)
                inputs = ids
                if answers is not None:  # teacher forcing: the answers ride along
                    targets = _padded([answers[i] for i in chunk], device)
                    inputs = torch.cat([ids, targets[:, :-1].clamp(min=0)], dim=1)
                if cached:
                    logits, state = model.prefill(inputs, keep=length)
                else:
                    logits, state = model(inputs), None
                last = logits[:, length - 1]
                if answers is not None:
                    prompt_ce = _ce(logits[:, : length - 1], ids[:, 1:])
                    answer_logits = logits[:, length - 1 :]
                    answer_ce = _ce(answer_logits, targets)
                    answer_hits = answer_logits.argmax(-1) == targets
                    out.prompt_loss[chunk] = prompt_ce.sum(1).double().cpu().numpy()
                    out.prompt_n[chunk] = length - 1
                    out.answer_loss[chunk] = answer_ce.sum(1).double().cpu().numpy()
                    out.answer_n[chunk] = [len(answers[i]) for i in chunk]
                    if on_scored is not None:
                        on_scored(
                            inputs,
                            torch.cat([ids[:, 1:], targets], dim=1),
                            torch.cat([prompt_ce, answer_ce], dim=1),
                            torch.cat(
                                [logits[:, : length - 1].argmax(-1) == ids[:, 1:], answer_hits], 1
                            ),
                            length - 1,
                        )
                limit = max_new_tokens
                if answers is not None:
                    limit = min(limit, max(len(answers[i]) for i in chunk) + ANSWER_SLACK)
                first = last.argmax(-1)
                generated = _greedy(model, ids, first, state, limit, eos_id, cached)
                for row, token_ids in zip(chunk, generated.tolist(), strict=True):
                    out.tokens[row] = token_ids
                bar.update(len(chunk))
    model.train(was_training)
    return out


def greedy_decode(
    model: torch.nn.Module, prompts: Sequence[Sequence[int]], **kwargs: object
) -> list[list[int]]:
    """Only the greedy continuations (``<eos>`` kept); see :func:`decode`."""
    return decode(model, prompts, **kwargs).tokens  # type: ignore[arg-type]
