"""The same ``lolameme train`` under torchrun: 2 CPU processes over gloo, rank 0 writes."""

import json
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import numpy as np

from lolameme.data.store import load_split
from lolameme.runs.batching import epoch_batches

SRC = Path(__file__).resolve().parents[2] / "src"


def test_two_process_gloo_run_writes_one_checkpoint(copy_dataset: Callable, tmp_path: Path) -> None:
    data = copy_dataset(200, 20)
    out = tmp_path / "run"
    command = [
        sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2",
        "-m", "lolameme", "train", "--data", str(data), "--out", str(out),
        "--model", "attention*2", "--scale", "smoke", "--tokenizer", "char",
        "--steps", "4", "--batch-size", "16", "--eval-every", "0", "--device", "cpu",
        "--threads", "1", "-q",
    ]  # fmt: skip
    env = {**os.environ, "PYTHONPATH": f"{SRC}{os.pathsep}{os.environ.get('PYTHONPATH', '')}"}
    done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stdout.count("run written to") == 1
    assert sorted(p.name for p in (out / "checkpoints").iterdir()) == ["latest", "step-00000004"]
    meta = json.loads((out / "run.json").read_text())
    assert meta["world_size"] == 2 and meta["finished"]["step"] == 4
    events = [json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines()]
    train_events = [e for e in events if e["type"] == "train"]
    assert [e["step"] for e in train_events] == [4]  # written once, by rank 0 only
    # 200 items / 16 = 13 batches per epoch, 6 per process: each step consumes two
    # different batches, so 4 steps read the epoch's first 8 batches between them
    frame = load_split(data, "train")
    lengths = np.array(
        [len(p) + len(a) + 2 for p, a in zip(frame.program, frame.label, strict=True)]
    )
    batches = epoch_batches(lengths, 16, seed=0, epoch=0)
    assert train_events[0]["tokens_seen"] == sum(int(lengths[b].sum()) for b in batches[:8])
    assert [e["step"] for e in events if e["type"] == "eval"] == [4]
