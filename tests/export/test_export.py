"""``lolameme export``: a transformers GPT-2 that computes and answers what our run does,
a safetensors export that lolameme reads back, and refusals that are one line."""

from __future__ import annotations

import json
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

transformers = pytest.importorskip("transformers")  # a test-only dependency

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


def test_hf_export_computes_and_answers_as_we_do(
    gpt2_run: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "hf"
    main(["export", str(gpt2_run), "--to", str(out), "--format", "hf"])
    capsys.readouterr()
    hf, info = transformers.GPT2LMHeadModel.from_pretrained(out, output_loading_info=True)
    assert not info["missing_keys"] and not info["unexpected_keys"]
    hf.eval()
    ours = lolameme.load_run(gpt2_run, device="cpu")
    gen = torch.Generator().manual_seed(0)
    ids = torch.randint(0, ours.model.vocab_size, (3, 24), generator=gen)
    with torch.no_grad():
        logits = ours.model(ids)
        assert logits.abs().max() > 0.5  # a trained signal, not near-zero logits
        assert torch.allclose(logits, hf(ids).logits, atol=1e-5, rtol=0)

    tokenizer = transformers.PreTrainedTokenizerFast.from_pretrained(out)
    expected = ours.tokenizer
    for token, i in (("<pad>", 0), ("<bos>", 1), ("<sep>", 2), ("<eos>", 3)):
        assert tokenizer.convert_tokens_to_ids(token) == i
    assert tokenizer.bos_token == "<bos>" and tokenizer.eos_token_id == expected.eos_id

    main(["predict", "--device", "cpu", str(gpt2_run), *PROGRAMS])
    predicted = capsys.readouterr().out.splitlines()
    answers = []
    for program in PROGRAMS:
        prompt = tokenizer("<bos>" + program + "<sep>", return_tensors="pt").input_ids
        assert prompt[0].tolist() == ours.loaded.codec.prompts([program])[0]
        with torch.no_grad():
            generated = hf.generate(prompt, do_sample=False, attention_mask=torch.ones_like(prompt))
        answer = generated[0, prompt.shape[1] :].tolist()
        if expected.eos_id in answer:
            answer = answer[: answer.index(expected.eos_id)]
        answers.append(tokenizer.decode(answer, skip_special_tokens=True))
    assert answers == predicted
    assert len(set(answers)) > 1  # the answers depend on the program

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
    assert lolameme.load_run(again, device="cpu").predict(PROGRAMS[:1])
