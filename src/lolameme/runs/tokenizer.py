"""Tokenizers for text-format data sets: byte-level BPE (the paper's choice) or characters.

Both are Hugging Face ``tokenizers`` objects trained on the train split only, so a test
item never influences the vocabulary, and both are saved as ``RUN/tokenizer.json`` and
reloaded from there: nothing is ever downloaded. The four special tokens have fixed
ids 0-3 in either kind, which keeps batching and decoding free of per-kind cases.

Special tokens are never written into the text: the encoder adds their ids around the
program and the label. They are also removed from the tokenizer's "added tokens", so a
program that happened to contain the text ``<eos>`` is encoded as ordinary characters
and can never end a sequence early.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Literal

from lolameme._io import atomic_write_text
from lolameme.errors import ConfigError, DataError

PAD, BOS, SEP, EOS = "<pad>", "<bos>", "<sep>", "<eos>"
SPECIAL_TOKENS = (PAD, BOS, SEP, EOS)
UNK = "<unk>"  # character level only: a character the train split never showed
TokenizerKind = Literal["bpe", "char"]
DEFAULT_BPE_VOCAB = 512


class TextTokenizer:
    """A trained tokenizer plus the ids of the special tokens."""

    def __init__(self, hf: object) -> None:
        self.hf = hf
        ids = [hf.token_to_id(token) for token in SPECIAL_TOKENS]  # type: ignore[attr-defined]
        if ids != [0, 1, 2, 3]:
            raise DataError(
                f"tokenizer is missing the special tokens {', '.join(SPECIAL_TOKENS)} at ids 0-3"
            )
        self.pad_id, self.bos_id, self.sep_id, self.eos_id = ids

    @property
    def vocab_size(self) -> int:
        return int(self.hf.get_vocab_size())  # type: ignore[attr-defined]

    def encode_batch(self, texts: Sequence[str]) -> list[list[int]]:
        """Token ids of each text, without special tokens."""
        encodings = self.hf.encode_batch(list(texts), add_special_tokens=False)  # type: ignore[attr-defined]
        return [e.ids for e in encodings]

    def decode(self, ids: Sequence[int]) -> str:
        """The text of ``ids`` with special tokens dropped (a stray ``<bos>`` adds nothing)."""
        kept = [i for i in ids if i >= len(SPECIAL_TOKENS)]
        return str(self.hf.decode(kept))  # type: ignore[attr-defined]

    def save(self, path: str | Path) -> None:
        atomic_write_text(path, self.hf.to_str())  # type: ignore[attr-defined]

    @classmethod
    def load(cls, path: str | Path) -> TextTokenizer:
        from tokenizers import Tokenizer

        path = Path(path)
        if not path.exists():
            raise DataError(f"missing tokenizer: {path}")
        try:
            hf = Tokenizer.from_file(str(path))
        except Exception as exc:  # the library raises a bare Exception on a bad file
            raise DataError(f"{path}: not a valid tokenizer file ({exc})") from None
        return cls(hf)


def train_tokenizer(
    kind: TokenizerKind, texts: Iterable[str], vocab_size: int | None = None
) -> TextTokenizer:
    """Train a tokenizer of ``kind`` on ``texts`` (the train split's programs and labels)."""
    if kind == "bpe":
        return train_bpe(texts, vocab_size or DEFAULT_BPE_VOCAB)
    if kind == "char":
        if vocab_size is not None:
            raise ConfigError("vocab_size applies to the bpe tokenizer only (char derives it)")
        return train_char(texts)
    raise ConfigError(f"unknown tokenizer '{kind}' (valid: bpe, char)")


# BPE merges happen only inside these pieces: a name, one digit, or a run of other
# characters. GPT-2's own split glues a leading space to a word (" x" and "x" become
# different tokens) and merges digits freely ("7;", " 12"), so a variable read after
# " = " would not be the token it was assigned as, and a constant in the program would
# not be the token the answer spells. Splitting names whole and digits one by one (as
# LLaMA does) keeps every name one token sequence wherever it occurs, and makes the
# answer's digits the program's digits: a tiny model then has a lookup to learn, not a
# spelling table.
PIECES = r"[A-Za-z_]+|[0-9]|[^A-Za-z_0-9]+"


def train_bpe(texts: Iterable[str], vocab_size: int) -> TextTokenizer:
    """Byte-level BPE: every byte is in the alphabet, so no text is ever unknown.

    The vocabulary may end up smaller than ``vocab_size`` when the corpus has fewer
    useful merges (pairs seen at least twice); the model is sized from the result.
    """
    from tokenizers import Regex, Tokenizer, decoders, models, pre_tokenizers, trainers

    alphabet = pre_tokenizers.ByteLevel.alphabet()
    if vocab_size < len(alphabet) + len(SPECIAL_TOKENS):
        raise ConfigError(
            f"vocab_size {vocab_size} is too small for byte-level BPE "
            f"(at least {len(alphabet) + len(SPECIAL_TOKENS)})"
        )
    hf = Tokenizer(models.BPE())
    hf.pre_tokenizer = pre_tokenizers.Sequence(
        [
            pre_tokenizers.Split(Regex(PIECES), behavior="isolated"),
            pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False),
        ]
    )
    hf.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        special_tokens=list(SPECIAL_TOKENS),
        initial_alphabet=alphabet,
        min_frequency=2,
        show_progress=False,
    )
    hf.train_from_iterator(texts, trainer)
    return TextTokenizer(_plain_text_specials(hf))


def train_char(texts: Iterable[str]) -> TextTokenizer:
    """One token per character seen in ``texts``, in sorted order, after the specials."""
    from tokenizers import Regex, Tokenizer, decoders, models, pre_tokenizers

    chars: set[str] = set()
    for text in texts:
        chars.update(text)
    vocab = {token: i for i, token in enumerate((*SPECIAL_TOKENS, UNK, *sorted(chars)))}
    hf = Tokenizer(models.WordLevel(vocab, unk_token=UNK))
    hf.pre_tokenizer = pre_tokenizers.Split(Regex(r"[\s\S]"), behavior="isolated")
    hf.decoder = decoders.Fuse()
    return TextTokenizer(hf)


def _plain_text_specials(hf: object) -> object:
    """The same tokenizer without "added tokens": special strings in text stay text."""
    from tokenizers import Tokenizer

    data = json.loads(hf.to_str())  # type: ignore[attr-defined]
    data["added_tokens"] = []
    return Tokenizer.from_str(json.dumps(data))
