"""``lolameme export``: a transformers GPT-2 that computes and answers what our run does,
a safetensors export that lolameme reads back, and refusals that are one line."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
import torch

import lolameme
from lolameme._io import atomic_directory
from lolameme.cli import main
from lolameme.data.store import DatasetWriter
from lolameme.models import LanguageModel
from lolameme.training import TrainConfig, train

pytest.importorskip("transformers")  # a test-only dependency

PROGRAMS = ["a = 3;print(a)", "b = 41;print(b)", "c = 7;b = c;print(b)", "a = 12;print(a)"]


def _items(n: int, seed: int) -> pd.DataFrame:
    rows = [
        {"program": f"{name} = {value};print({name})", "label": str(value)}
        for name, value in (("abc"[i % 3], (seed + 37 * i) % 100) for i in range(n))
    ]
    return pd.DataFrame(rows)


@pytest.fixture(scope="module")
def data(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("export") / "copy"
    with atomic_directory(path) as tmp:
        writer = DatasetWriter(tmp)
        writer.write_shard("train", 0, _items(96, 1))
        writer.write_shard("test", 0, _items(16, 5))
        writer.finish(task="lolameme", format="text", config={}, seed=0)
    return path


def _train(data: Path, out: Path, model: str, **settings: object) -> Path:
    config = TrainConfig(
        data=data, model=model, scale="smoke", out=out, steps=30, batch_size=16, lr=3e-3,
        eval_every=0, eval_samples=0, threads=1, **settings,
    )  # fmt: skip
    return train(config, progress=False)


@pytest.fixture(scope="module")
def gpt2_run(data: Path) -> Path:
    run = _train(data, data.parent / "gpt2", "attention*2", tokenizer="bpe", vocab_size=300)
    lolameme.evaluate(run, progress=False, threads=1, device="cpu")  # so the card has EM per split
    return run


@pytest.fixture(scope="module")
def hyena_run(data: Path) -> Path:
    return _train(data, data.parent / "hyena", "hyena*2", tokenizer="char")


# The transformers side runs in a child process: once a transformers model has run, this
# process's torch no longer builds models under ``torch.device("meta")`` (a global side
# effect of transformers' kernels), which later tests rely on.
HF_SIDE = """
import json, sys
import torch, transformers
out, ids_file, programs = sys.argv[1], sys.argv[2], json.loads(sys.argv[3])
hf, info = transformers.GPT2LMHeadModel.from_pretrained(out, output_loading_info=True)
hf.eval()
tokenizer = transformers.PreTrainedTokenizerFast.from_pretrained(out)
result = {"missing": sorted(info["missing_keys"]), "unexpected": sorted(info["unexpected_keys"]),
          "specials": [tokenizer.convert_tokens_to_ids(t)
                       for t in ("<pad>", "<bos>", "<sep>", "<eos>")],
          "bos": tokenizer.bos_token, "prompts": [], "answers": []}
with torch.no_grad():
    torch.save(hf(torch.load(ids_file)).logits, ids_file + ".logits")
    for program in programs:
        prompt = tokenizer("<bos>" + program + "<sep>", return_tensors="pt").input_ids
        out_ids = hf.generate(prompt, do_sample=False, attention_mask=torch.ones_like(prompt))
        answer = out_ids[0, prompt.shape[1]:].tolist()
        if tokenizer.eos_token_id in answer:
            answer = answer[: answer.index(tokenizer.eos_token_id)]
        result["prompts"].append(prompt[0].tolist())
        result["answers"].append(tokenizer.decode(answer, skip_special_tokens=True))
print(json.dumps(result))
"""


def _hf_side(out: Path, ids: torch.Tensor, tmp_path: Path) -> tuple[dict, torch.Tensor]:
    ids_file = tmp_path / "ids.pt"
    torch.save(ids, ids_file)
    src = str(Path(lolameme.__file__).resolve().parents[1])
    env = {**os.environ, "PYTHONPATH": src, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"}
    args = [sys.executable, "-c", HF_SIDE, str(out), str(ids_file), json.dumps(PROGRAMS)]
    done = subprocess.run(args, capture_output=True, text=True, env=env, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    return json.loads(done.stdout.splitlines()[-1]), torch.load(str(ids_file) + ".logits")


def test_hf_export_computes_and_answers_as_we_do(
    gpt2_run: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "hf"
    main(["export", str(gpt2_run), "--to", str(out), "--format", "hf"])
    capsys.readouterr()
    ours = lolameme.load_run(gpt2_run, device="cpu")
    gen = torch.Generator().manual_seed(0)
    ids = torch.randint(0, ours.model.vocab_size, (3, 24), generator=gen)
    hf, hf_logits = _hf_side(out, ids, tmp_path)
    assert not hf["missing"] and not hf["unexpected"]
    with torch.no_grad():
        logits = ours.model(ids)
    assert logits.abs().max() > 0.5  # a trained signal, not near-zero logits
    assert torch.allclose(logits, hf_logits, atol=1e-5, rtol=0)

    assert hf["specials"] == [0, 1, 2, 3] and hf["bos"] == "<bos>"
    assert hf["prompts"] == ours.loaded.codec.prompts(PROGRAMS)  # same ids as our codec
    main(["predict", "--device", "cpu", str(gpt2_run), *PROGRAMS])
    predicted = capsys.readouterr().out.splitlines()
    assert hf["answers"] == predicted
    assert len(set(predicted)) > 1  # the answers depend on the program

    card = (out / "README.md").read_text()
    assert card.startswith("---\n") and "library_name: transformers" in card
    report = json.loads((gpt2_run / "eval.json").read_text())
    em = report["splits"]["test"]["em"]
    assert f"| `test` | 16 | {em:.3f} |" in card
    assert "`attention*2`" in card and "| `steps` | `30` |" in card


def test_safetensors_export_loads_back(hyena_run: Path, tmp_path: Path) -> None:
    out = tmp_path / "st"
    lolameme.export_run(hyena_run, out, "safetensors")
    config = json.loads((out / "config.json").read_text())
    model = LanguageModel.from_config_dict(config)
    assert model.spec == "hyena*2"
    exported = lolameme.load_run(out, device="cpu")
    original = lolameme.load_run(hyena_run, device="cpu")
    ids = torch.randint(0, model.vocab_size, (2, 16), generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        assert torch.equal(exported.model(ids), original.model(ids))
    assert exported.predict(PROGRAMS) == original.predict(PROGRAMS)
    assert exported.step == original.step == 30
    assert "lolameme.load_run" in (out / "README.md").read_text()


def test_safetensors_export_of_a_model_builder_loads_back(
    data: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A whole-model builder (``module:build``) exports its builder config, and that
    config rebuilds it: the export answers as the run does."""
    monkeypatch.syspath_prepend(str(Path(__file__).parents[2] / "docs" / "examples"))
    run = _train(data, tmp_path / "gru", "gru_lm:build", tokenizer="char")
    out = tmp_path / "st"
    lolameme.export_run(run, out, "safetensors")
    assert json.loads((out / "config.json").read_text())["builder"] == "gru_lm:build"
    exported = lolameme.load_run(out, device="cpu")
    original = lolameme.load_run(run, device="cpu")
    ids = torch.randint(0, 20, (2, 16), generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        assert torch.equal(exported.model(ids), original.model(ids))
    assert exported.predict(PROGRAMS) == original.predict(PROGRAMS)


def test_refusals_are_one_line(
    hyena_run: Path, gpt2_run: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    busy = tmp_path / "busy"
    busy.mkdir()
    (busy / "notes.txt").write_text("mine")
    cases = [
        ([str(hyena_run), "--to", str(tmp_path / "x"), "--format", "hf"],
         "layer 0 is 'hyena'"),
        ([str(gpt2_run), "--to", str(busy), "--format", "safetensors"],
         "not an earlier lolameme export"),
        ([str(gpt2_run), "--to", str(tmp_path / "y"), "--format", "onnx"], "unknown format"),
    ]  # fmt: skip
    for args, expected in cases:
        with pytest.raises(SystemExit) as info:
            main(["export", *args])
        err = capsys.readouterr().err.strip()
        assert info.value.code == 2 and err.startswith("error: ") and expected in err
        assert "\n" not in err
    assert not (tmp_path / "x").exists() and (busy / "notes.txt").read_text() == "mine"
    # an earlier export is replaced, in either format
    again = tmp_path / "again"
    lolameme.export_run(gpt2_run, again, "hf")
    lolameme.export_run(gpt2_run, again, "safetensors")
    assert not (again / "tokenizer_config.json").exists()  # the hf files are gone
    replaced, original = (lolameme.load_run(r, device="cpu") for r in (again, gpt2_run))
    ids = torch.randint(0, 20, (2, 16), generator=torch.Generator().manual_seed(1))
    with torch.no_grad():  # the replacement is the run's model, not a leftover of the hf one
        assert torch.equal(replaced.model(ids), original.model(ids))
    assert replaced.predict(PROGRAMS) == original.predict(PROGRAMS)
