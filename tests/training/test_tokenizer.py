"""Tokenizers: special ids, exact round trips, train-split-only vocabulary, save/load."""

from pathlib import Path
from types import SimpleNamespace

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lolameme.errors import ConfigError, DataError
from lolameme.runs.tokenizer import (
    SPECIAL_TOKENS,
    TextTokenizer,
    train_bpe,
    train_char,
    train_tokenizer,
)

CORPUS = [
    "tmrGk = 24;xnBolt = (yI % aL);oZ = ((dVfa - tmrGk) * 3);print(xnBolt)",
    "xn_bolt = {a_b|3};print{xn_bolt}",
    "-48",
    "7",
] * 20

BPE = train_bpe(CORPUS, 300)
CHAR = train_char(CORPUS)


@pytest.mark.parametrize("tokenizer", [BPE, CHAR], ids=["bpe", "char"])
def test_special_tokens_have_fixed_ids(tokenizer: TextTokenizer) -> None:
    assert [tokenizer.hf.token_to_id(t) for t in SPECIAL_TOKENS] == [0, 1, 2, 3]
    assert (tokenizer.pad_id, tokenizer.bos_id, tokenizer.sep_id, tokenizer.eos_id) == (0, 1, 2, 3)
    assert tokenizer.decode([1, *tokenizer.encode_batch(["-48"])[0], 3, 0]) == "-48"


@settings(max_examples=60, deadline=None)
@given(st.text(alphabet=st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=40))
def test_bpe_round_trips_any_text(text: str) -> None:
    assert BPE.decode(BPE.encode_batch([text])[0]) == text


@settings(max_examples=60, deadline=None)
@given(st.text(alphabet="".join(sorted(set("".join(CORPUS)))), max_size=60))
def test_char_round_trips_seen_characters_one_token_each(text: str) -> None:
    ids = CHAR.encode_batch([text])[0]
    assert len(ids) == len(text)
    assert CHAR.decode(ids) == text


def test_char_maps_unseen_characters_to_unk() -> None:
    ids = CHAR.encode_batch(["a#"])[0]
    assert ids[1] == CHAR.hf.token_to_id("<unk>")
    assert CHAR.decode(ids) != "a#"


def test_bpe_merges_frequent_pieces() -> None:
    program = CORPUS[0]
    assert len(BPE.encode_batch([program])[0]) < len(program) / 2


def test_bpe_spells_a_name_the_same_wherever_it_occurs() -> None:
    """A name read after ' = ', after '(' or at a statement start is one token sequence."""
    ids = [BPE.encode_batch([text])[0] for text in ("tmrGk", " = tmrGk;", "(tmrGk", ";tmrGk")]
    name = ids[0]
    assert len(name) == 1  # frequent in the corpus: merged whole
    for other in ids[1:]:
        assert any(other[i : i + len(name)] == name for i in range(len(other)))


def test_bpe_splits_numbers_into_the_digits_the_answer_uses() -> None:
    program = BPE.encode_batch(["oZ = (24 * 3);"])[0]
    digit = {d: BPE.encode_batch([d])[0] for d in "2437"}
    assert all(len(ids) == 1 for ids in digit.values())
    for d in "243":
        assert digit[d][0] in program
    assert BPE.encode_batch(["-48"])[0][-2:] == [digit["4"][0], BPE.encode_batch(["8"])[0][0]]


def test_save_and_load_keep_the_vocabulary(tmp_path: Path) -> None:
    for tokenizer in (BPE, CHAR):
        tokenizer.save(tmp_path / "tokenizer.json")
        again = TextTokenizer.load(tmp_path / "tokenizer.json")
        assert again.vocab_size == tokenizer.vocab_size
        assert again.encode_batch(CORPUS[:4]) == tokenizer.encode_batch(CORPUS[:4])


def test_vocab_size_rules() -> None:
    assert train_tokenizer("bpe", CORPUS, 280).vocab_size <= 280
    with pytest.raises(ConfigError, match="too small"):
        train_bpe(CORPUS, 100)
    with pytest.raises(ConfigError, match="bpe tokenizer only"):
        train_tokenizer("char", CORPUS, 300)


def test_load_errors_are_clear(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="missing tokenizer"):
        TextTokenizer.load(tmp_path / "nope.json")
    (tmp_path / "bad.json").write_text("{}")
    with pytest.raises(DataError, match="not a valid tokenizer"):
        TextTokenizer.load(tmp_path / "bad.json")


@pytest.mark.parametrize("tokenizer", [BPE, CHAR], ids=["bpe", "char"])
def test_special_token_text_is_ordinary_text(tokenizer: TextTokenizer) -> None:
    ids = tokenizer.encode_batch(["a<eos>b<sep>"])[0]
    assert not set(ids) & {0, 1, 2, 3}


def test_a_run_learns_its_vocabulary_from_the_train_split_only(
    toy: SimpleNamespace, tmp_path: Path
) -> None:
    """Characters that only the test split uses stay unknown: the tokenizer must not see
    the items it is evaluated on. (A char vocabulary shows it; BPE's byte alphabet holds
    every character whatever it was trained on.)"""
    from lolameme.training import TrainConfig, train

    data = toy.write(
        tmp_path / "data",
        {"train": toy.copy_items(64, 1, names="abc"), "test": toy.copy_items(8, 2, names="xyz")},
    )
    run = train(
        TrainConfig(
            data=data, model="attention*2", scale="smoke", out=tmp_path / "run",
            tokenizer="char", steps=1, batch_size=8, eval_samples=0, eval_every=0, threads=1,
        ),
        progress=False,
    )  # fmt: skip
    tokenizer = TextTokenizer.load(run / "tokenizer.json")
    vocab = set(tokenizer.hf.get_vocab())
    assert set("abcprint=;()0123456789") <= vocab  # the train split's characters
    assert not {"x", "y", "z"} & vocab  # the test split's own
    ids = tokenizer.encode_batch(["x = 5;print(x)"])[0]
    assert ids.count(tokenizer.hf.token_to_id("<unk>")) == 2
