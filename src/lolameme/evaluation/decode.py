"""Batched greedy decoding of answers.

Prompts are grouped by token length, so every batch is a rectangle with no padding at
all: convolutional mixers (Hyena) see absolute positions, and left padding would shift
them. Each batch is run once through ``model.prefill`` and then one token at a time
through ``model.step`` (the model's cache or recurrent state), which is what makes
evaluating ten thousand items cheap. ``cached=False`` recomputes the whole sequence at
every step instead; it exists as the baseline of ``benchmarks/bench_eval.py`` and for
models without incremental decoding.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch

from lolameme.training.precision import autocast


def _decode_batch(
    model: torch.nn.Module,
    ids: torch.Tensor,
    max_new_tokens: int,
    eos_id: int,
    cached: bool,
) -> torch.Tensor:
    """Generated tokens ``[B, <= max_new_tokens]``; rows that hit ``<eos>`` stop mattering."""
    if cached:
        logits, state = model.prefill(ids)
    else:
        logits = model(ids)
    token = logits[:, -1].argmax(-1)
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


def greedy_decode(
    model: torch.nn.Module,
    prompts: Sequence[Sequence[int]],
    *,
    max_new_tokens: int,
    eos_id: int,
    batch_size: int = 256,
    device: torch.device | None = None,
    cached: bool = True,
    progress: bool = False,
    desc: str = "decode",
) -> list[list[int]]:
    """The greedy continuation of each prompt (up to ``max_new_tokens``, ``<eos>`` kept)."""
    from tqdm.auto import tqdm

    device = device or next(model.parameters()).device
    cached = cached and hasattr(model, "prefill") and hasattr(model, "step")
    groups: dict[int, list[int]] = {}
    for i, prompt in enumerate(prompts):
        groups.setdefault(len(prompt), []).append(i)
    out: list[list[int]] = [[] for _ in prompts]
    was_training = model.training
    model.eval()
    with (
        tqdm(total=len(prompts), desc=desc, disable=not progress, leave=False) as bar,
        torch.inference_mode(),
        autocast(device),
    ):
        for length in sorted(groups):
            members = groups[length]
            for start in range(0, len(members), batch_size):
                chunk = members[start : start + batch_size]
                ids = torch.tensor([list(prompts[i]) for i in chunk], device=device)
                generated = _decode_batch(model, ids, max_new_tokens, eos_id, cached).tolist()
                for row, i in enumerate(chunk):
                    out[i] = generated[row]
                bar.update(len(chunk))
    model.train(was_training)
    return out
