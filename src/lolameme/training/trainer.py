"""The training loop: one loop for every model, data format and process count.

Per step: draw a length-bucketed batch, next-token cross-entropy over the labelled
positions (``-100`` elsewhere), backward, clip the gradient norm, AdamW step with the
warmup-cosine learning rate. Around it: periodic evaluation on fixed samples of the
test splits, atomic checkpoints, ``metrics.jsonl``, a progress bar, and exact resume.

Periodic evaluation is a callback (``evaluate``, a :class:`SampleEvaluator`), as
Lightning and the HF ``Trainer`` take theirs: training knows when to evaluate and on
which sample, :mod:`lolameme.evaluation` knows how (its ``evaluate_frame`` is the one the
``train`` command and the experiments pass), and neither package imports the other.

Determinism: model initialisation and everything after it run under a forked torch RNG
seeded from the config, batches come from a seeded generator, and checkpoints store
every RNG and the sampler position, so N steps + resume + N steps equals 2N steps.
"""

from __future__ import annotations

import math
import os
import random
import shutil
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

import torch
import torch.nn.functional as F

from lolameme import __version__
from lolameme._io import check_output_dir, first_missing, remove_stale_partials
from lolameme._threads import default_threads
from lolameme.data.store import IGNORE_INDEX, open_dataset
from lolameme.errors import TrainingError
from lolameme.runs import directory as run_files
from lolameme.runs.batching import BatchSampler, Codec, TextCodec
from lolameme.runs.checkpoint import (
    STATE_KEYS,
    CheckpointError,
    checkpoint_step,
    latest_checkpoint,
    load_state,
    load_weights,
    resume_candidates,
    save_checkpoint,
)
from lolameme.runs.layout import METRICS, RUN_JSON, TOKENIZER
from lolameme.runs.precision import autocast
from lolameme.training.config import IDENTITY_FIELDS, SAVED_BEFORE_DEFAULTS, TrainConfig
from lolameme.training.distributed import Distributed
from lolameme.training.metrics_log import MetricsLog, check_loggers, truncate_after
from lolameme.training.optim import FILTER_GROUP, build_optimizer, default_warmup, lr_at
from lolameme.training.prepare import Prepared, prepare

if TYPE_CHECKING:
    import pandas as pd


class SampleEvaluator(Protocol):
    """Scores a model on one test split's fixed sample: ``(predictions, summary)``.

    :func:`lolameme.evaluation.evaluate.evaluate_frame` is one; the trainer logs each
    summary but ``by`` as an ``eval`` event of ``metrics.jsonl``.
    """

    def __call__(
        self,
        model: torch.nn.Module,
        codec: Codec,
        frame: pd.DataFrame,
        *,
        max_new_tokens: int | None,
        batch_size: int,
        device: torch.device,
    ) -> tuple[Any, dict[str, Any]]: ...


def train(
    config: TrainConfig, progress: bool = True, *, evaluate: SampleEvaluator | None = None
) -> Path:
    """Train ``config.model`` on ``config.data``; return the run directory.

    ``evaluate`` scores the periodic samples (``config.eval_every``/``eval_samples``);
    without it no ``eval`` events are logged and everything else is the same.

    Under ``torchrun`` every process calls this; they share the work through DDP and
    only rank 0 writes. User errors (missing data, unknown spec, incompatible resume,
    diverged loss) raise :class:`~lolameme.errors.LolamemeError` subclasses.
    """
    dist = Distributed.from_env()
    device = dist.device(config.device)
    threads = torch.get_num_threads()
    # not torch's one thread per core, which stalls on busy cores (lolameme._threads);
    # DDP processes on one machine share its idle cores
    local = int(os.environ.get("LOCAL_WORLD_SIZE", "1"))
    torch.set_num_threads(config.threads or default_threads(local))
    dist.init(device)
    cuda_devices = [device.index or 0] if device.type == "cuda" else []
    py_state = random.getstate()
    try:
        with torch.random.fork_rng(devices=cuda_devices):
            torch.manual_seed(config.seed)
            return _Session(config, dist, device, progress, evaluate).fit()
    finally:
        random.setstate(py_state)  # the caller's RNGs and threads are left as they were
        torch.set_num_threads(threads)
        dist.close()


def _check_resume(saved: dict[str, Any], config: TrainConfig, fingerprint: str) -> None:
    # a run saved before a field existed was trained with that field's default then
    was = {
        name: saved["config"].get(
            name, SAVED_BEFORE_DEFAULTS.get(name, TrainConfig.model_fields[name].default)
        )
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


def is_run(path: Path) -> bool:
    """Whether ``path`` is a run directory lolameme wrote: its ``run.json`` reads back as
    one (a file of that name from another tool, or a damaged one, does not count)."""
    return run_files.is_run(path)


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
    # The source's own request counts as agreeing: BPE learns fewer tokens than asked for
    # on a small corpus (512 asked, 341 learnt), and a two-stage experiment cell repeats
    # its scale's vocab_size in both stages.
    agreeing = (source["vocab_size"], was.get("vocab_size"))
    if config.vocab_size is not None and config.vocab_size not in agreeing:
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

    ``--resume`` needs a run with a checkpoint: it never silently starts afresh (that
    would rewrite the run's history). An old run that ``--overwrite`` replaces is removed
    only in :meth:`_Session._open_out`, once data, tokenizer, model and loggers are known to
    work: a typo cannot cost a finished run. A directory that is not a run (by
    :func:`is_run`) is never replaced.
    """
    out = config.out
    if config.resume:
        if not out.is_dir():
            raise TrainingError(f"cannot resume: {out} does not exist (drop --resume to start)")
        if not (out / RUN_JSON).is_file():
            raise TrainingError(f"cannot resume: {out} is not a lolameme run (no run.json)")
        run_files.read_run(out)  # a foreign or damaged run.json: the error names the field
        check_output_dir(out, is_ours=is_run, what="run", replace=False)
        if latest_checkpoint(out) is None:
            raise TrainingError(
                f"cannot resume {out}: it has no checkpoint yet (it stopped before its "
                "first one); start it again with --overwrite"
            )
        return run_files.read_run(out)
    check_output_dir(
        out,
        is_ours=is_run,
        what="run",
        overwrite=config.overwrite,
        flag="--resume to continue it or --overwrite",
    )
    return None


class _Session:
    """One session of the loop: a fresh run, or one resumption of it (a run may take several)."""

    def __init__(
        self,
        config: TrainConfig,
        dist: Distributed,
        device: torch.device,
        progress: bool,
        evaluate: SampleEvaluator | None,
    ) -> None:
        self.config, self.dist, self.device, self.progress = config, dist, device, progress
        self.evaluate = evaluate
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
            mixer_kwargs=config.mixer_kwargs,
        ).to(device)
        self.init_from: dict[str, Any] | None = None
        if source is not None:
            self.init_from = _load_init(self.model, config, source)
        self.checkpoint = latest_checkpoint(self.out) if saved else None
        self.optimizer = build_optimizer(
            self.model,
            lr=config.lr,
            weight_decay=config.weight_decay,
            device=device,
            filter_lr=config.filter_lr,
            filter_weight_decay=config.filter_weight_decay,
        )
        # each group's peak lr and weight decay as this config sets them: the schedule
        # scales the peaks, and a resume keeps them over the checkpoint's (_restore)
        self.group_settings = [
            (group["lr"], group["weight_decay"]) for group in self.optimizer.param_groups
        ]
        filter_settings = config.filter_lr is not None or config.filter_weight_decay is not None
        has_filters = any(g.get(FILTER_GROUP) for g in self.optimizer.param_groups)
        if filter_settings and not has_filters and dist.is_main:
            print(
                f"warning: {config.model} has no implicit-filter parameters: "
                "filter_lr and filter_weight_decay change nothing",
                file=sys.stderr,
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
        # training seconds of the steps a resumed checkpoint holds: a resumed run's clock
        # (``elapsed_s``, ``finished.seconds``) counts every kept step, not this process's
        self.resumed_seconds = 0.0
        self._clock_started = time.perf_counter()
        self.em_postfix: dict[str, str] = {}  # the latest periodic eval, on the progress bar
        self.meta = self._meta(info)

    def _meta(self, info: Any) -> dict[str, Any]:
        model = self.model
        return {
            "lolameme_version": __version__,
            # The data path resolved: `train --resume` and `eval` work from any directory.
            "config": {**self.config.to_json(), "data": str(Path(info.path).resolve())},
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
            "train_seconds": self._elapsed(),
            "optimizer": self.optimizer.state_dict(),
            "schedule": {"total": self.total, "warmup": self.warmup, "lr": self._lr()},
            "sampler": self.sampler.state_dict(),
            "rng": rng,
            "identity": self.config.identity(),
            "data_fingerprint": self.fingerprint,
        }

    def _restore_any(self) -> None:
        """Restore the latest checkpoint, or the newest older one that is readable; say so.

        A checkpoint damaged after it was written (truncated by a copy, a disk error) costs
        the steps since the previous one, not the run.
        """
        damaged: list[str] = []
        for checkpoint in resume_candidates(self.out):
            try:
                self._restore(checkpoint)
            except CheckpointError as exc:
                damaged.append(str(exc))
                continue
            if damaged and self.dist.is_main:
                print(
                    f"warning: {damaged[0]}; resuming from the previous complete checkpoint "
                    f"{checkpoint}",
                    file=sys.stderr,
                )
            self.checkpoint = checkpoint
            return
        raise CheckpointError(
            f"{damaged[0]}; no earlier complete checkpoint to fall back to "
            "(start the run again with --overwrite)"
        )

    def _restore(self, checkpoint: Path) -> None:
        state = load_state(
            checkpoint, self.device, STATE_KEYS
        )  # the state first: it is the likelier damage
        load_weights(self.model, checkpoint)
        saved_groups = len(state["optimizer"]["param_groups"])
        if saved_groups != len(self.optimizer.param_groups):
            raise TrainingError(
                f"cannot resume {self.out}: its optimiser has {saved_groups} parameter groups, "
                f"these settings make {len(self.optimizer.param_groups)} (filter_lr or "
                "filter_weight_decay was given or dropped since the run started: resume "
                "with the run's own values)"
            )
        self.optimizer.load_state_dict(state["optimizer"])
        # torch restores each group's settings from the checkpoint; this config's win,
        # as they do for the learning rate, which is set afresh every step
        for group, (_, weight_decay) in zip(
            self.optimizer.param_groups, self.group_settings, strict=True
        ):
            group["weight_decay"] = weight_decay
        self.sampler.load_state_dict(state["sampler"])
        self.step = int(state["step"])
        self.tokens_seen = int(state["tokens_seen"])
        self.resumed_seconds = float(state.get("train_seconds", 0.0))  # absent before 2026-12-02
        random.setstate(state["rng"]["python"])
        torch.set_rng_state(state["rng"]["torch"].cpu())
        if self.device.type == "cuda" and "cuda" in state["rng"]:
            torch.cuda.set_rng_state(state["rng"]["cuda"].cpu(), self.device)

    def _lr(self, peak: float | None = None) -> float:
        """The learning rate at this step of a group peaking at ``peak`` (default: lr)."""
        c = self.config
        return lr_at(
            self.step,
            lr=c.lr if peak is None else peak,
            warmup=self.warmup,
            total=self.total,
            min_ratio=c.min_lr_ratio,
        )

    # -- the run directory ---------------------------------------------------------------
    def _open_out(self) -> MetricsLog:
        """Start the loggers, then write the run's first files; return the log.

        wandb or TensorBoard can fail to start (no API key, no network): that is one error
        and the directory is left as it was. An old run that ``--overwrite`` replaces is
        set aside (``.NAME.old-PID``, which :func:`remove_stale_partials` puts back after a
        kill) and removed only once the loggers run; a failure puts it back and removes only
        what this call created.
        """
        config = self.config
        if not self.dist.is_main:
            return MetricsLog(self.out / METRICS, enabled=False)
        out = self.out
        remove_stale_partials(out)
        old: Path | None = None
        if config.overwrite and is_run(out):
            old = out.with_name(f".{out.name}.old-{os.getpid()}")
            os.replace(out, old)
        created = first_missing(out)  # the topmost directory this call creates, if any
        out.mkdir(parents=True, exist_ok=True)
        before = set(os.listdir(out))
        try:
            log = MetricsLog(
                out / METRICS,
                tensorboard_dir=out / "tensorboard" if config.tensorboard else None,
                wandb_config=config.to_json() if config.wandb else None,
                wandb_run={
                    "project": config.wandb_project,
                    "name": config.wandb_name,
                    "group": config.wandb_group,
                    "entity": config.wandb_entity,
                },
            )
        except BaseException:
            if created is not None:
                shutil.rmtree(created, ignore_errors=True)
            else:
                for name in set(os.listdir(out)) - before:
                    _remove(out / name)
            if old is not None:
                os.replace(old, out)
            raise
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)
        truncate_after(out / METRICS, self.step)
        if isinstance(self.data.codec, TextCodec):
            self.data.codec.tokenizer.save(out / TOKENIZER)
        run_files.write_run(out, self.meta)
        return log

    # -- the loop ----------------------------------------------------------------------
    def fit(self) -> Path:
        config, dist = self.config, self.dist
        if self.checkpoint is not None:
            self._restore_any()
        log = self._open_out()
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
        since, tokens, tick = 0, 0, time.perf_counter()
        self._clock_started = tick
        last_good = self.checkpoint
        while self.step < stop:
            index = next(batches)
            inputs, targets = data.train.batch(index, data.codec.pad_id)
            inputs = inputs.to(self.device, non_blocking=True)
            targets = targets.to(self.device, non_blocking=True)
            lr = self._lr()
            for group, (peak, _) in zip(
                self.optimizer.param_groups, self.group_settings, strict=True
            ):
                group["lr"] = self._lr(peak)  # the same shape from each group's own peak
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
                    "elapsed_s": self._elapsed(now),
                }
                log.log(event)
                bar.set_postfix(
                    loss=f"{mean:.4f}", **self.em_postfix, tok_s=f"{event['tokens_per_s']:.0f}"
                )
                loss_sum.zero_()
                since, tokens, tick = 0, 0, now
            if do_eval:
                self.em_postfix = eval_postfix(self._evaluate(log))
                bar.set_postfix(loss=f"{mean:.4f}", **self.em_postfix)
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
                "seconds": self._elapsed(),
            }
            if self.resumed_seconds:
                self.meta["finished"]["resumed_seconds"] = self.resumed_seconds
            run_files.write_run(self.out, self.meta)

    def _elapsed(self, now: float | None = None) -> float:
        """Training seconds of every step so far, those before a resume included."""
        clock = time.perf_counter() if now is None else now
        return self.resumed_seconds + clock - self._clock_started

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

    def _evaluate(self, log: MetricsLog) -> dict[str, dict[str, Any]]:
        """Evaluate the test splits' samples (main process); return ``{split: summary}``."""
        splits: dict[str, dict[str, Any]] = {}
        if self.dist.is_main and self.data.eval_frames and self.evaluate is not None:
            for split, frame in self.data.eval_frames.items():
                _, summary = self.evaluate(
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
        return splits


def eval_postfix(splits: dict[str, dict[str, Any]]) -> dict[str, str]:
    """The progress bar's view of a periodic eval: ``{"em_with": "0.213", ...}``.

    ``test_with_global`` shows as ``em_with``, ``test`` as ``em``: short enough to sit
    beside the loss on one line.
    """
    shown = {}
    for split, summary in splits.items():
        if summary.get("em") is None:
            continue
        name = split.removeprefix("test").strip("_").removesuffix("_global")
        shown["em_" + name if name else "em"] = f"{summary['em']:.3f}"
    return shown


def _remove(path: Path) -> None:
    """Remove a file or directory tree, whichever ``path`` is (gone already: nothing)."""
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path, ignore_errors=True)
    else:
        path.unlink(missing_ok=True)


def _loss(logits: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    """Mean cross-entropy over labelled positions; zero (not NaN) if a batch has none."""
    ce = F.cross_entropy(
        logits.float().flatten(0, 1),
        targets.flatten(),
        ignore_index=IGNORE_INDEX,
        reduction="sum",
    )
    return ce / (targets != IGNORE_INDEX).sum().clamp(min=1)
