"""The training loop: one loop for every model, data format and process count.

Per step: draw a length-bucketed batch, next-token cross-entropy over the labelled
positions (``-100`` elsewhere), backward, clip the gradient norm, AdamW step with the
warmup-cosine learning rate. Around it: periodic evaluation on fixed samples of the
test splits, atomic checkpoints, ``metrics.jsonl``, a progress bar, and exact resume.

Determinism: model initialisation and everything after it run under a forked torch RNG
seeded from the config, batches come from a seeded generator, and checkpoints store
every RNG and the sampler position, so N steps + resume + N steps equals 2N steps.
"""

from __future__ import annotations

import math
import random
import shutil
import time
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F

from lolameme import __version__
from lolameme.data.store import IGNORE_INDEX, open_dataset
from lolameme.errors import TrainingError
from lolameme.evaluation.evaluate import evaluate_frame
from lolameme.training import run as run_files
from lolameme.training.batching import BatchSampler, TextCodec
from lolameme.training.checkpoint import (
    checkpoint_step,
    latest_checkpoint,
    load_state,
    load_weights,
    save_checkpoint,
)
from lolameme.training.config import IDENTITY_FIELDS, TrainConfig
from lolameme.training.distributed import Distributed
from lolameme.training.metrics_log import MetricsLog, check_loggers, truncate_after
from lolameme.training.optim import build_optimizer, default_warmup, lr_at
from lolameme.training.precision import autocast
from lolameme.training.prepare import Prepared, prepare


def train(config: TrainConfig, progress: bool = True) -> Path:
    """Train ``config.model`` on ``config.data``; return the run directory.

    Under ``torchrun`` every process calls this; they share the work through DDP and
    only rank 0 writes. User errors (missing data, unknown spec, incompatible resume,
    diverged loss) raise :class:`~lolameme.errors.LolamemeError` subclasses.
    """
    dist = Distributed.from_env()
    device = dist.device(config.device)
    threads = torch.get_num_threads()
    if config.threads:
        torch.set_num_threads(config.threads)
    dist.init(device)
    cuda_devices = [device.index or 0] if device.type == "cuda" else []
    py_state = random.getstate()
    try:
        with torch.random.fork_rng(devices=cuda_devices):
            torch.manual_seed(config.seed)
            return _Run(config, dist, device, progress).fit()
    finally:
        random.setstate(py_state)  # the caller's RNGs and threads are left as they were
        torch.set_num_threads(threads)
        dist.close()


def _check_resume(saved: dict[str, Any], config: TrainConfig, fingerprint: str) -> None:
    # a run saved before a field existed was trained with that field's default
    was = {
        name: saved["config"].get(name, TrainConfig.model_fields[name].default)
        for name in IDENTITY_FIELDS
    }
    now = config.identity()
    differences = [
        f"{name} was {was[name]!r}, now {now[name]!r}"
        for name in IDENTITY_FIELDS
        if was[name] != now[name]
    ]
    if saved["data"]["fingerprint"] != fingerprint:
        differences.append(f"the data set differs (was {saved['data']['path']})")
    if differences:
        raise TrainingError(
            f"cannot resume {config.out}: incompatible checkpoint: {'; '.join(differences)}"
        )


def _init_source(config: TrainConfig) -> dict[str, Any] | None:
    """The ``run.json`` of ``--init-from``'s run, checked against ``config``; None without one.

    The source's tokenizer is reused, so the tokenizer settings must agree; the model
    spec, scale and embedding tie are checked by loading the weights (one error line
    naming the first mismatching tensor).
    """
    if config.init_from is None:
        return None
    source = run_files.read_run(config.init_from)
    if latest_checkpoint(config.init_from) is None:
        raise TrainingError(f"--init-from {config.init_from}: the run has no checkpoint yet")
    was = source["config"]
    for name in ("tokenizer", "loss"):
        if was.get(name) != getattr(config, name):
            raise TrainingError(
                f"--init-from {config.init_from}: {name} was {was.get(name)!r}, now "
                f"{getattr(config, name)!r} (the run's tokenizer and encoding are reused)"
            )
    if config.vocab_size is not None and config.vocab_size != source["vocab_size"]:
        raise TrainingError(
            f"--init-from {config.init_from}: vocab_size is {source['vocab_size']} there, "
            f"now {config.vocab_size} (its tokenizer is reused: leave --vocab-size out)"
        )
    if config.max_seq_len is not None and config.max_seq_len != source["max_seq_len"]:
        raise TrainingError(
            f"--init-from {config.init_from}: max_seq_len is {source['max_seq_len']} there, "
            f"now {config.max_seq_len} (the model's positions are reused)"
        )
    return source


def _load_init(
    model: torch.nn.Module, config: TrainConfig, source: dict[str, Any]
) -> dict[str, Any]:
    """Load the source run's latest weights into ``model``; what was loaded, for run.json."""
    assert config.init_from is not None
    checkpoint = latest_checkpoint(config.init_from)
    assert checkpoint is not None  # checked by _init_source
    saved_model = source["model"] or {}
    for name in ("spec", "scale", "tie_embeddings"):
        here = getattr(getattr(model, "config", None), name, None)
        if name in saved_model and here is not None and saved_model[name] != here:
            raise TrainingError(
                f"--init-from {config.init_from}: its model has {name} "
                f"{saved_model[name]!r}, this run's {here!r}"
            )
    try:
        load_weights(model, checkpoint)
    except TrainingError as exc:
        raise TrainingError(f"--init-from {config.init_from}: {exc}") from None
    return {
        "run": str(Path(config.init_from).resolve()),
        "step": checkpoint_step(checkpoint),
        "data_fingerprint": source["data"]["fingerprint"],
    }


def _claim_out_dir(config: TrainConfig) -> dict[str, Any] | None:
    """Validate ``config.out``; return the saved ``run.json`` when resuming one.

    An old run that ``--overwrite`` replaces is removed only in :meth:`_Run.fit`, once
    data, tokenizer and model are known to work: a typo cannot cost a finished run.
    """
    out = config.out
    is_run = (out / run_files.RUN_JSON).is_file()
    if config.resume and is_run:
        return run_files.read_run(out)
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        if not is_run:
            raise TrainingError(f"{out} exists and is not a lolameme run; choose another --out")
        if not config.overwrite:
            raise TrainingError(
                f"{out} already holds a run (pass --resume to continue it or --overwrite)"
            )
    return None


class _Run:
    """One invocation of the loop (fresh or resumed)."""

    def __init__(
        self, config: TrainConfig, dist: Distributed, device: torch.device, progress: bool
    ) -> None:
        self.config, self.dist, self.device, self.progress = config, dist, device, progress
        self.out = config.out
        check_loggers(config.tensorboard, config.wandb)
        info = open_dataset(config.data)
        self.fingerprint = run_files.data_fingerprint(info)
        saved = _claim_out_dir(config)
        if saved is not None:
            _check_resume(saved, config, self.fingerprint)
        # A resumed run keeps its own tokenizer and positions; a run started --init-from
        # another takes that run's, so that token ids and weight shapes mean the same.
        source = _init_source(config) if saved is None else None
        self.data: Prepared = prepare(
            config,
            info,
            self.out if saved else config.init_from if source else None,
            dist,
            max_seq_len=(saved or source or {}).get("max_seq_len"),
        )
        if saved is not None and saved["vocab_size"] != self.data.codec.vocab_size:
            raise TrainingError(
                f"tokenizer/vocab mismatch: {self.out} was trained with {saved['vocab_size']} "
                f"tokens, its tokenizer now has {self.data.codec.vocab_size}"
            )
        self.model = run_files.build_model(
            config.model,
            scale=config.scale,
            vocab_size=self.data.codec.vocab_size,
            max_seq_len=self.data.max_seq_len,
            tie_embeddings=config.tie_embeddings,
            init=config.init,
        ).to(device)
        self.init_from: dict[str, Any] | None = None
        if source is not None:
            self.init_from = _load_init(self.model, config, source)
        self.checkpoint = latest_checkpoint(self.out) if saved else None
        self.optimizer = build_optimizer(
            self.model, lr=config.lr, weight_decay=config.weight_decay, device=device
        )
        self.sampler = BatchSampler(
            self.data.train.lengths,
            config.batch_size,
            config.seed,
            rank=dist.rank,
            world_size=dist.world_size,
        )
        per_epoch = self.sampler.steps_per_epoch()
        self.total = config.steps or math.ceil((config.epochs or 1.0) * per_epoch)
        self.warmup = min(
            config.warmup if config.warmup is not None else default_warmup(self.total),
            self.total,
        )
        self.eval_every = (
            config.eval_every if config.eval_every is not None else max(1, self.total // 5)
        )
        self.checkpoint_every = config.checkpoint_every or self.eval_every or self.total
        self.step = 0
        self.tokens_seen = 0
        self.meta = self._meta(info)

    def _meta(self, info: Any) -> dict[str, Any]:
        model = self.model
        return {
            "lolameme_version": __version__,
            "config": self.config.to_json(),
            "data": {
                "path": str(Path(info.path).resolve()),
                "task": info.task,
                "format": info.format,
                "fingerprint": self.fingerprint,
                "splits": info.splits,
            },
            "format": info.format,
            "tokenizer": self.config.tokenizer if info.format == "text" else None,
            "vocab_size": self.data.codec.vocab_size,
            "max_seq_len": self.data.max_seq_len,
            "max_answer_tokens": self.data.max_answer_tokens,
            "model": model.config_dict() if hasattr(model, "config_dict") else None,
            "num_parameters": sum(p.numel() for p in model.parameters()),
            "total_steps": self.total,
            "warmup_steps": self.warmup,
            "world_size": self.dist.world_size,
            "init_from": self.init_from,
        }

    # -- state -----------------------------------------------------------------------
    def _state(self) -> dict[str, Any]:
        rng: dict[str, Any] = {"python": random.getstate(), "torch": torch.get_rng_state()}
        if self.device.type == "cuda":
            rng["cuda"] = torch.cuda.get_rng_state(self.device)
        return {
            "step": self.step,
            "tokens_seen": self.tokens_seen,
            "optimizer": self.optimizer.state_dict(),
            "schedule": {"total": self.total, "warmup": self.warmup, "lr": self._lr()},
            "sampler": self.sampler.state_dict(),
            "rng": rng,
            "identity": self.config.identity(),
            "data_fingerprint": self.fingerprint,
        }

    def _restore(self, checkpoint: Path) -> None:
        load_weights(self.model, checkpoint)
        state = load_state(checkpoint, self.device)
        self.optimizer.load_state_dict(state["optimizer"])
        self.sampler.load_state_dict(state["sampler"])
        self.step = int(state["step"])
        self.tokens_seen = int(state["tokens_seen"])
        random.setstate(state["rng"]["python"])
        torch.set_rng_state(state["rng"]["torch"].cpu())
        if self.device.type == "cuda" and "cuda" in state["rng"]:
            torch.cuda.set_rng_state(state["rng"]["cuda"].cpu(), self.device)

    def _lr(self) -> float:
        c = self.config
        return lr_at(
            self.step, lr=c.lr, warmup=self.warmup, total=self.total, min_ratio=c.min_lr_ratio
        )

    # -- the loop ----------------------------------------------------------------------
    def fit(self) -> Path:
        config, dist = self.config, self.dist
        if self.checkpoint is not None:
            self._restore(self.checkpoint)
        if dist.is_main:
            if config.overwrite and (self.out / run_files.RUN_JSON).is_file():
                shutil.rmtree(self.out)
            self.out.mkdir(parents=True, exist_ok=True)
            truncate_after(self.out / run_files.METRICS, self.step)
            if isinstance(self.data.codec, TextCodec):
                self.data.codec.tokenizer.save(self.out / run_files.TOKENIZER)
            run_files.write_run(self.out, self.meta)
        log = MetricsLog(
            self.out / run_files.METRICS,
            enabled=dist.is_main,
            tensorboard_dir=self.out / "tensorboard" if config.tensorboard else None,
            wandb_config=config.to_json() if config.wandb else None,
        )
        model = self.model
        if dist.enabled:
            from torch.nn.parallel import DistributedDataParallel

            ids = [self.device.index] if self.device.type == "cuda" else None
            model = DistributedDataParallel(self.model, device_ids=ids)
        stop = min(self.total, config.stop_after or self.total)
        try:
            self._loop(model, log, stop)
        finally:
            log.close()
        return self.out

    def _loop(self, model: torch.nn.Module, log: MetricsLog, stop: int) -> None:
        from tqdm.auto import tqdm

        config, dist, data = self.config, self.dist, self.data
        batches = iter(self.sampler)
        bar = tqdm(
            total=self.total,
            initial=self.step,
            desc=f"train {config.model}",
            disable=not (self.progress and dist.is_main),
            dynamic_ncols=True,
        )
        model.train()
        loss_sum = torch.zeros((), device=self.device)
        since, tokens, tick, started = 0, 0, time.perf_counter(), time.perf_counter()
        last_good = self.checkpoint
        while self.step < stop:
            index = next(batches)
            inputs, targets = data.train.batch(index, data.codec.pad_id)
            inputs = inputs.to(self.device, non_blocking=True)
            targets = targets.to(self.device, non_blocking=True)
            lr = self._lr()
            for group in self.optimizer.param_groups:
                group["lr"] = lr
            with autocast(self.device):
                logits = model(inputs)
            loss = _loss(logits, targets)
            loss.backward()
            grad_norm = torch.nn.utils.clip_grad_norm_(model.parameters(), config.grad_clip)
            self.optimizer.step()
            self.optimizer.zero_grad(set_to_none=True)
            self.step += 1
            loss_sum += loss.detach()
            since += 1
            tokens += int(data.train.lengths[index].sum())
            bar.update(1)
            do_eval = config.eval_samples > 0 and (
                self.step == self.total
                or bool(self.eval_every)
                and self.step % self.eval_every == 0
            )
            do_ckpt = self.step % self.checkpoint_every == 0 or self.step == stop
            if self.step % config.log_every == 0 or do_eval or do_ckpt:
                mean, tokens = self._reduce(loss_sum, since, tokens, last_good)
                self.tokens_seen += tokens
                now = time.perf_counter()
                event = {
                    "type": "train",
                    "step": self.step,
                    "loss": mean,
                    "lr": lr,
                    "grad_norm": float(grad_norm),
                    "tokens_per_s": tokens / max(now - tick, 1e-9),
                    "tokens_seen": self.tokens_seen,
                    "elapsed_s": now - started,
                }
                log.log(event)
                bar.set_postfix(loss=f"{mean:.4f}", tok_s=f"{event['tokens_per_s']:.0f}")
                loss_sum.zero_()
                since, tokens, tick = 0, 0, now
            if do_eval:
                self._evaluate(log)
            if do_ckpt:
                if dist.is_main:
                    last_good = save_checkpoint(self.out, self.step, self.model, self._state())
                dist.barrier()
            if do_eval or do_ckpt:
                tick = time.perf_counter()  # evaluation and saving are not training speed
        bar.close()
        if dist.is_main:
            self.meta["finished"] = {
                "step": self.step,
                "complete": self.step >= self.total,
                "seconds": time.perf_counter() - started,
            }
            run_files.write_run(self.out, self.meta)

    def _reduce(
        self, loss_sum: torch.Tensor, count: int, tokens: int, last_good: Path | None
    ) -> tuple[float, int]:
        """Mean loss over steps and processes, and tokens of all processes; stop on NaN/inf.

        Checked before every checkpoint, so a checkpoint never holds diverged weights.
        """
        totals = torch.stack(
            [
                loss_sum.double(),
                torch.tensor(float(tokens), dtype=torch.float64, device=self.device),
            ]
        )
        if self.dist.enabled:
            torch.distributed.all_reduce(totals)
            totals[0] /= self.dist.world_size
        mean = float(totals[0]) / max(count, 1)
        if not math.isfinite(mean):
            kept = f"the last good checkpoint is {last_good}" if last_good else "no checkpoint"
            raise TrainingError(
                f"loss became {mean} by step {self.step}: training stopped; {kept} "
                "(try a lower --lr or more --warmup)"
            )
        return mean, int(totals[1])

    def _evaluate(self, log: MetricsLog) -> None:
        if self.dist.is_main and self.data.eval_frames:
            splits = {}
            for split, frame in self.data.eval_frames.items():
                _, summary = evaluate_frame(
                    self.model,
                    self.data.codec,
                    frame,
                    max_new_tokens=self.data.max_answer_tokens,
                    batch_size=self.config.eval_batch_size,
                    device=self.device,
                )
                splits[split] = {k: v for k, v in summary.items() if k != "by"}
            log.log({"type": "eval", "step": self.step, "splits": splits})
            self.model.train()
        self.dist.barrier()


def _loss(logits: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    """Mean cross-entropy over labelled positions; zero (not NaN) if a batch has none."""
    ce = F.cross_entropy(
        logits.float().flatten(0, 1),
        targets.flatten(),
        ignore_index=IGNORE_INDEX,
        reduction="sum",
    )
    return ce / (targets != IGNORE_INDEX).sum().clamp(min=1)
