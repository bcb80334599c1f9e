"""``lolameme predict`` and ``lolameme.load_run(...).predict``: the answers ``eval`` gives,
labels from the interpreter, and malformed programs that do not stop the others."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pandas as pd
import pytest
import torch

import lolameme
from lolameme._io import atomic_directory
from lolameme.cli import main
from lolameme.data.store import DatasetWriter
from lolameme.data.tasks.lolameme.config import LolamemeConfig
from lolameme.errors import LolamemeError
from lolameme.evaluation.decode import ANSWER_SLACK
from lolameme.runs.batching import TextCodec
from lolameme.training import TrainConfig, train

GLOBALS = {"gX": 7}


def _copy_items(n: int, seed: int) -> pd.DataFrame:
    """``a = N;print(a)`` -> ``N`` (LoLa has no negative literals)."""
    rows = [
        {"program": f"{name} = {value};print({name})", "label": str(value)}
        for name, value in (("abc"[i % 3], seed + 7 * i) for i in range(n))
    ]
    return pd.DataFrame(rows).assign(n_statements=1, negative=False, language="lola")


def _global_items(n: int) -> pd.DataFrame:
    """``b = (gX + k);print(b)``: gX is doubled by its latent type (g is in a-w)."""
    rows = [
        {"program": f"b = (gX + {k});print(b)", "label": str(2 * GLOBALS["gX"] + k)}
        for k in range(n)
    ]
    return pd.DataFrame(rows).assign(n_statements=1, negative=False, language="lola")


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A LoLa-task data set with a globals file, and a run trained for a few steps on it."""
    root = tmp_path_factory.mktemp("predict")
    data = root / "data"
    with atomic_directory(data) as tmp:
        writer = DatasetWriter(tmp)
        writer.write_shard("train", 0, pd.concat([_copy_items(64, 1), _global_items(16)]))
        writer.write_shard("test", 0, pd.concat([_copy_items(12, 1), _global_items(4)]))
        writer.finish(
            task="lolameme",
            format="text",
            config=LolamemeConfig().model_dump(mode="json"),
            seed=0,
            globals=GLOBALS,
            split_order=["train", "test"],
        )
    config = TrainConfig(
        data=data, model="attention*2", scale="smoke", out=root / "run", tokenizer="char",
        steps=40, batch_size=16, lr=3e-3, eval_every=0, eval_samples=4, threads=1,
    )  # fmt: skip
    return train(config, progress=False)


def _naive_ids(loaded: lolameme.Run, program: str) -> list[int]:
    """Greedy decoding written out: the whole sequence through ``forward`` at every step;
    the answer's ids, without the ``<eos>`` that ended it."""
    tokenizer = loaded.tokenizer
    max_new = loaded.meta["max_answer_tokens"]
    ids = [tokenizer.bos_id, *tokenizer.encode_batch([program])[0], tokenizer.sep_id]
    answer: list[int] = []
    with torch.no_grad():
        while len(answer) < max_new:
            token = int(loaded.model(torch.tensor([ids + answer]))[0, -1].argmax())
            if token == tokenizer.eos_id:
                break
            answer.append(token)
    return answer


def _naive_answer(loaded: lolameme.Run, program: str) -> str:
    return loaded.tokenizer.decode(_naive_ids(loaded, program))


def test_predictions_equal_greedy_decoding_and_eval(run: Path) -> None:
    """predict = a written-out greedy loop; and eval's answers agree with it.

    Eval stops decoding a few tokens after the label's length (later tokens cannot make
    a wrong answer right), predict only at ``<eos>``: so eval's answer is a prefix of
    predict's, equal to it wherever eval stopped at ``<eos>``. Eval decodes each item
    for at least ``len(label <eos>) + ANSWER_SLACK`` tokens (its batch's longest label
    sets the limit), so an ``<eos>`` before that must end eval's answer too.
    """
    lolameme.evaluate(run, progress=False, threads=1, device="cpu")
    frame = pd.read_parquet(run / "predictions-test.parquet")
    loaded = lolameme.load_run(run, device="cpu")
    predictions = loaded.predict(list(frame.program))
    naive = [_naive_ids(loaded, p) for p in frame.program]
    assert predictions == [loaded.tokenizer.decode(ids) for ids in naive]
    assert len(set(predictions)) > 1  # the answers depend on the program
    assert any(frame.prediction)  # eval's answers are not all empty
    codec = loaded.loaded.codec
    assert isinstance(codec, TextCodec)
    max_new = loaded.meta["max_answer_tokens"]
    floors = [min(max_new, len(a) + ANSWER_SLACK) for a in codec.answers(list(frame.label))]
    ended = 0
    for ours, theirs, ids, floor in zip(predictions, frame.prediction, naive, floors, strict=True):
        assert ours.startswith(theirs) and len(ours) >= len(theirs)
        if len(ids) < floor:  # predict's <eos> came where eval was still decoding
            assert theirs == ours
            ended += 1
    assert ended > 0, "no item to compare in full: the check above proved nothing"
    items = loaded.predict_items(list(frame.program))
    assert [i.label for i in items] == list(frame.label)  # the interpreter agrees with the data
    labels = list(frame.label)
    assert [i.correct for i in items] == [p == t for p, t in zip(predictions, labels, strict=True)]


def test_api_exposes_model_tokenizer_config(run: Path) -> None:
    loaded = lolameme.load_run(run, device="cpu")
    assert loaded.config.model == "attention*2" and loaded.config.steps == 40
    assert loaded.step == 40
    assert loaded.tokenizer is not None and loaded.tokenizer.vocab_size == loaded.model.vocab_size
    with pytest.raises(LolamemeError, match="program 1: position"):
        loaded.predict(["a = 3;print(a)", "a = ;print(a)"])


def test_cli_plain_json_and_malformed(run: Path, capsys: pytest.CaptureFixture[str]) -> None:
    programs = ["a = 3;print(a)", "a = (3;print(a)", "b = (gX + 1);print(b)"]
    expected = lolameme.load_run(run, device="cpu").predict([programs[0], programs[2]])
    with pytest.raises(SystemExit) as exit_info:
        main(["predict", "--device", "cpu", str(run), *programs])
    out, err = capsys.readouterr()
    assert exit_info.value.code == 1  # one program failed
    assert out.split("\n")[:3] == [expected[0], "", expected[1]]
    assert err.count("\n") == 1 and err.startswith("error: program 2: position ")

    with pytest.raises(SystemExit):
        main(["predict", "--device", "cpu", str(run), "--json", *programs])
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [line["prediction"] for line in lines] == [expected[0], None, expected[1]]
    assert lines[0]["label"] == "3" and lines[2]["label"] == "15"  # 2 * 7 + 1
    assert lines[0]["correct"] == (expected[0] == "3")
    assert "error" in lines[1] and "label" not in lines[1]


@pytest.mark.parametrize("name", ["gX", "g_x"])  # a user's table may spell names in MeMe
def test_cli_stdin_language_and_globals(
    name: str,
    run: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    table = tmp_path / "globals.json"
    table.write_text(json.dumps({name: 1}))
    monkeypatch.setattr("sys.stdin", io.StringIO("b_c = {g_x @ 2};print{b_c}\nbC = 4;print(bC)\n"))
    main(
        [
            "predict",
            "--device",
            "cpu",
            str(run),
            "-",
            "--json",
            "--language",
            "lola",
            "--globals",
            str(table),
        ]
    )
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [line["program"] for line in lines] == ["bC = (gX * 2);print(bC)", "bC = 4;print(bC)"]
    assert [line["label"] for line in lines] == ["4", "4"]  # gX = 1, doubled, times 2
    main(
        ["predict", "--device", "cpu", str(run), "--language", "meme", "--json", "bC = 4;print(bC)"]
    )
    assert json.loads(capsys.readouterr().out)["program"] == "b_c = 4;print{b_c}"


def test_cli_user_errors_are_one_line(
    run: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "bad.json").write_text('{"gX": "seven"}')
    (tmp_path / "huge.json").write_text('{"gX": ' + "9" * 5000 + "}")
    (tmp_path / "latin1.json").write_bytes(b'{"g\xe9": 1}')
    for args, expected in [
        (["--language", "klingon"], "unknown language 'klingon'"),
        (["--globals", str(tmp_path / "bad.json")], "value of 'gX' must be an integer"),
        (["--globals", str(tmp_path / "huge.json")], "an integer of more than 4300 digits"),
        (["--globals", str(tmp_path / "latin1.json")], "latin1.json' cannot be read"),
        (["--globals", str(tmp_path / "none.json")], "none.json' does not exist"),
    ]:
        with pytest.raises(SystemExit) as info:
            main(["predict", "--device", "cpu", str(run), "a = 1;print(a)", *args])
        err = capsys.readouterr().err.strip()
        assert info.value.code == 2 and err.startswith("error: ") and expected in err
        assert "\n" not in err


def test_tokens_run_is_refused(tokens_dataset, tmp_path: Path) -> None:
    config = TrainConfig(
        data=tokens_dataset(32, 8), model="attention*2", scale="smoke", out=tmp_path / "run",
        steps=2, batch_size=16, eval_every=0, threads=1,
    )  # fmt: skip
    loaded = lolameme.load_run(train(config, progress=False), device="cpu")
    assert loaded.tokenizer is None
    with pytest.raises(LolamemeError, match="predict answers text programs only"):
        loaded.predict(["1 2 3"])
