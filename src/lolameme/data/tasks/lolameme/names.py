"""Drawing variable names: the globals table and the pool of locals of one data set.

A name is drawn in three steps, the same for random letters and Faker words:

1. its latent type, with the probabilities of :func:`~.config.type_weights`;
2. its letters: a length uniform in [MIN_VAR_LENGTH, MAX_VAR_LENGTH], the first letter
   uniform in the type's letter range, the rest uniform a-z; or, with USE_FAKER, English
   words from Faker's offline lorem list, the first word starting in the type's range,
   concatenated and cut to the drawn length;
3. its word breaks: each letter after the first starts a new word with probability
   VAR_NAME_UNDERSCORE_PROBABILITY (LoLa shows it as upper case, MeMe as ``_``). With
   Faker, the candidate break points are the word boundaries.

Names are returned in canonical (LoLa) spelling; ``print`` is never drawn, and globals
and locals are all distinct.
"""

from __future__ import annotations

import bisect
import functools
import random
import string
from dataclasses import dataclass

from lolameme.data.tasks.lolameme.config import LolamemeConfig, latent_config, type_weights
from lolameme.errors import ConfigError

RESERVED = frozenset({"print"})
_ATTEMPTS_PER_NAME = 200


@dataclass(frozen=True)
class NameTables:
    """The names of one data set: globals with their fixed values, and the local pool."""

    globals: dict[str, int]
    locals: tuple[str, ...]


@functools.lru_cache(maxsize=1)
def faker_words() -> dict[str, tuple[str, ...]]:
    """Faker's offline English word list, lowercase letters only, grouped by first letter."""
    from faker.providers.lorem.en_US import Provider

    words = sorted({w for w in Provider.word_list if w.isascii() and w.isalpha() and w.islower()})
    grouped: dict[str, list[str]] = {}
    for word in words:
        grouped.setdefault(word[0], []).append(word)
    return {letter: tuple(ws) for letter, ws in grouped.items()}


class NameDrawer:
    """Draws names under one config's case, length and latent-type rules."""

    def __init__(self, config: LolamemeConfig, rng: random.Random) -> None:
        self.rng = rng
        self.min_len, self.max_len = config.min_var_length, config.max_var_length
        self.p_break = config.var_name_underscore_probability
        self.use_faker = config.use_faker
        if self.use_faker:
            self.words = faker_words()
            self.every_word = tuple(w for ws in self.words.values() for w in ws)
        latent = latent_config(config)
        weights = type_weights(config)
        self.types = [
            (latent.letter_range(t), w) for t, w in zip("ABC", weights, strict=True) if w > 0
        ]
        self.cumulative = []
        total = 0.0
        for _, w in self.types:
            total += w
            self.cumulative.append(total)

    def _first_letters(self) -> str:
        index = bisect.bisect_right(self.cumulative, self.rng.random() * self.cumulative[-1])
        return self.types[min(index, len(self.types) - 1)][0]

    def draw(self) -> str:
        rng = self.rng
        length = rng.randint(self.min_len, self.max_len)
        first = self._first_letters()
        if self.use_faker:
            letters, boundaries = self._faker_letters(first, length)
        else:
            letters = rng.choice(first) + "".join(
                rng.choice(string.ascii_lowercase) for _ in range(length - 1)
            )
            boundaries = range(1, length)
        breaks = {i for i in boundaries if rng.random() < self.p_break}
        return "".join(c.upper() if i in breaks else c for i, c in enumerate(letters))

    def _faker_letters(self, first: str, length: int) -> tuple[str, list[int]]:
        rng = self.rng
        starters = [w for letter in first for w in self.words.get(letter, ())]
        # When no English word starts in the type's letter range (x-z), prefix a letter.
        parts = [rng.choice(starters)] if starters else [rng.choice(first)]
        while sum(map(len, parts)) < length:
            parts.append(rng.choice(self.every_word))
        boundaries, position = [], 0
        for part in parts[:-1]:
            position += len(part)
            if position < length:
                boundaries.append(position)
        return "".join(parts)[:length], boundaries


def name_space_size(config: LolamemeConfig) -> int | None:
    """How many distinct random-letter names the config can draw (None with Faker)."""
    if config.use_faker:
        return None
    latent = latent_config(config)
    weights = type_weights(config)
    firsts = sum(len(latent.letter_range(t)) for t, w in zip("ABC", weights, strict=True) if w > 0)
    p = config.var_name_underscore_probability
    total = 0
    for length in range(config.min_var_length, config.max_var_length + 1):
        spellings = 2 ** (length - 1) if 0.0 < p < 1.0 else 1
        total += firsts * 26 ** (length - 1) * spellings
    return total


def draw_names(config: LolamemeConfig, seed: int) -> NameTables:
    """The globals (with values) and the local pool, from their own seeded RNG.

    The names depend only on the seed and the name knobs, so data sets that differ in
    language or size but share a seed share their globals.
    """
    needed = config.globalvar_count + config.local_var_count
    space = name_space_size(config)
    if space is not None and space < needed + 1:
        raise ConfigError(
            f"names of {config.min_var_length}..{config.max_var_length} letters allow only "
            f"{space} distinct names, but GLOBALVAR_COUNT + LOCAL_VAR_COUNT = {needed} are "
            "needed; allow longer names"
        )
    rng = random.Random(f"{seed}:names")
    drawer = NameDrawer(config, rng)
    seen: set[str] = set()
    ordered: list[str] = []
    attempts = 0
    while len(ordered) < needed:
        attempts += 1
        if attempts > _ATTEMPTS_PER_NAME * needed:
            raise ConfigError(
                f"could draw only {len(ordered)} distinct names of the {needed} needed "
                f"(GLOBALVAR_COUNT + LOCAL_VAR_COUNT) with lengths "
                f"{config.min_var_length}..{config.max_var_length}; allow longer names"
            )
        name = drawer.draw()
        if name in seen or name.lower() in RESERVED:
            continue
        seen.add(name)
        ordered.append(name)
    names_g = ordered[: config.globalvar_count]
    values = [rng.randint(config.min_int_value, config.max_int_value) for _ in names_g]
    return NameTables(
        globals=dict(zip(names_g, values, strict=True)),
        locals=tuple(ordered[config.globalvar_count :]),
    )
