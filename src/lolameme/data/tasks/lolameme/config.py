"""The LoLa/MeMe generator config: every knob of the paper's Appendix A.1, typed and checked.

Field names are snake_case; the paper's upper-case keys (typos included) are accepted as
aliases, so the paper's ``baseconfig`` dict validates as it is::

    LolamemeConfig.model_validate({"LANGUAGE": "LOLA", "MIN-VAR-LENGTH": 3, ...})

Defaults are the base config (A.1). Every check a user can fail happens here, before
anything is written: ranges, probabilities, operator sets, the test splits the config
can make, and whether the training split is large enough to show every global
``GLOBAL_VARIABLES_NUM_APPEARANCE`` times (see :func:`global_schedule`).
"""

from __future__ import annotations

import math
from typing import Any, Literal

from pydantic import AliasChoices, BaseModel, ConfigDict, Field, field_validator, model_validator

from lolameme.errors import ConfigError
from lolameme.languages import LatentConfig, Op
from lolameme.languages.render import LOLA_OPS, MEME_OPS

Language = Literal["lola", "meme", "sample_mix", "module_mix"]
GlobalsMode = Literal["train", "recall", "none"]

# The operator symbols of each dialect, in the order of ``Op`` (add, sub, mul, mod).
LOLA_SYMBOLS = tuple(LOLA_OPS[op] for op in Op)
MEME_SYMBOLS = tuple(MEME_OPS[op] for op in Op)

# Test split name -> (globals policy, language override or None for the training language).
# "recall": globals are read, never assigned, and the printed value depends on one;
# "none": no global is mentioned at all.
TEST_SPLITS: dict[str, tuple[GlobalsMode, Language | None]] = {
    "test_with_global": ("recall", None),
    "test_without_global": ("none", None),
    "test_sample_mix": ("recall", "sample_mix"),
    "test_module_mix": ("recall", "module_mix"),
    "test_sample_mix_without_global": ("none", "sample_mix"),
    "test_module_mix_without_global": ("none", "module_mix"),
}


def _alias(*names: str) -> Any:
    return AliasChoices(*names)


def _end(value: Any) -> Any:
    """The paper writes ``-1`` for "up to the end of the alphabet"."""
    return 26 if value == -1 else value


class LolamemeConfig(BaseModel):
    """One LoLa/MeMe data set. Aliases are the paper's keys; see ``docs/data.md``."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    # --- language and surface form -------------------------------------------------
    language: Language = Field("lola", validation_alias=_alias("LANGUAGE"))
    meme_share: float = Field(
        0.5,
        ge=0.0,
        le=1.0,
        validation_alias=_alias("MEME_SHARE", "MIX_RATIO"),
        description="sample_mix: share of items written in MeMe; "
        "module_mix: chance that each name/operator/bracket pair is MeMe",
    )
    operators_lola: tuple[str, ...] = Field(
        LOLA_SYMBOLS, validation_alias=_alias("OPERATORS.LOLA", "OPERATORS_LOLA")
    )
    operators_meme: tuple[str, ...] = Field(
        MEME_SYMBOLS, validation_alias=_alias("OPERATORS.MEME", "OPERATORS_MEME")
    )
    # Fixed by docs/languages.md; accepted so that the paper's dict validates, never changeable.
    grouping_lola: tuple[Literal["("], Literal[")"]] = Field(
        ("(", ")"), validation_alias=_alias("GROUPING.LOLA", "GROUPING_LOLA")
    )
    grouping_meme: tuple[Literal["{"], Literal["}"]] = Field(
        ("{", "}"), validation_alias=_alias("GROUPING.MEME", "GROUPING_MEME")
    )
    case_lola: Literal["camel"] = Field("camel", validation_alias=_alias("CASE.LOLA", "CASE_LOLA"))
    case_meme: Literal["snake"] = Field("snake", validation_alias=_alias("CASE.MEME", "CASE_MEME"))
    var_name_underscore_probability: float = Field(
        0.5,
        ge=0.0,
        le=1.0,
        validation_alias=_alias("VAR_NAME_UNDERSCORE_PROBABILITY"),
        description="chance of a word break at each letter after the first",
    )

    # --- latent types -----------------------------------------------------------------
    latent_a_end: int = Field(
        23, ge=0, le=26, validation_alias=_alias("LATENT_CARACTER_ASCILA", "LATENT_A_END")
    )
    latent_b_end: int = Field(
        26, ge=0, le=26, validation_alias=_alias("LATENT_CARACTER_ASCILB", "LATENT_B_END")
    )
    latent_c_end: Literal[26] = Field(
        26, validation_alias=_alias("LATENT_CARACTER_ASCILC", "LATENT_C_END")
    )
    latent_variable_probability: tuple[float, ...] = Field(
        (0.3, 0.4), validation_alias=_alias("LATENT_VARIABLE_PROBABILITY")
    )
    latent_type_a_modification: str = Field(
        "*2", validation_alias=_alias("LATENT_TYPE_A_MODIFICATION")
    )
    latent_type_b_modification: str = Field(
        "/2", validation_alias=_alias("LATENT_TYPE_B_MODIFICATION")
    )
    latent_type_c_modification: str = Field(
        "/2", validation_alias=_alias("LATENT_TYPE_C_MODIFICATION")
    )

    # --- variables, statements, values -------------------------------------------------
    globalvar_count: int = Field(
        500, ge=0, validation_alias=_alias("GLOBALVAR_COUNT", "GLOBAL_VAR_COUNT")
    )
    local_var_count: int = Field(10, ge=1, validation_alias=_alias("LOCAL_VAR_COUNT"))
    statement_count: int = Field(5, ge=1, validation_alias=_alias("STATEMENT_COUNT"))
    expression_min_depth: int = Field(1, ge=0, validation_alias=_alias("EXPRESSION_MIN_DEPTH"))
    expression_max_depth: int = Field(2, ge=0, validation_alias=_alias("EXPRESSION_MAX_DEPTH"))
    min_var_length: int = Field(
        3, ge=1, validation_alias=_alias("MIN_VAR_LENGTH", "MIN-VAR-LENGTH")
    )
    max_var_length: int = Field(
        10, ge=1, validation_alias=_alias("MAX_VAR_LENGTH", "MAX-VAR-LENGTH")
    )
    mean_var_length: int | None = Field(
        None,
        ge=1,
        validation_alias=_alias("MEAN_VAR_LENGTH"),
        description="A.2: sets min/max to round(0.75 M), round(1.25 M)",
    )
    min_int_value: int = Field(1, ge=0, validation_alias=_alias("MIN_INT_VALUE"))
    max_int_value: int = Field(100, ge=0, validation_alias=_alias("MAX_INT_VALUE"))
    use_faker: bool = Field(False, validation_alias=_alias("USE_FAKER"))

    # --- statement shape (not in the paper's dict; defaults read off its Appendix B) ---
    plain_assignment_share: float = Field(
        0.5,
        ge=0.0,
        le=1.0,
        validation_alias=_alias("PLAIN_ASSIGNMENT_SHARE"),
        description="chance that a statement is a plain assignment (depth 0)",
    )
    global_assignment_share: float = Field(
        0.4,
        ge=0.0,
        le=1.0,
        validation_alias=_alias("GLOBAL_ASSIGNMENT_SHARE"),
        description="train only: chance that a plain statement assigns a global its own value",
    )
    constant_share: float = Field(
        0.25,
        ge=0.0,
        le=1.0,
        validation_alias=_alias("CONSTANT_SHARE"),
        description="chance that an expression leaf is an integer literal",
    )
    noise_share: float | None = Field(
        None,
        ge=0.0,
        le=1.0,
        validation_alias=_alias("NOISE_SHARE"),
        description="None: the paper's process (noise falls out of it); a number s: every "
        "item has exactly min(round(s * STATEMENT_COUNT), STATEMENT_COUNT - 1) statements "
        "outside the printed variable's dependency slice",
    )

    # --- sizes and splits --------------------------------------------------------------
    dataset_size: int = Field(100_000, gt=0, validation_alias=_alias("DATASET_SIZE"))
    test_dataset_size: int = Field(10_000, gt=0, validation_alias=_alias("TEST_DATASET_SIZE"))
    global_variables_num_appearance: int = Field(
        1000, ge=0, validation_alias=_alias("GLOBAL_VARIABLES_NUM_APPEARANCE")
    )
    test_splits: tuple[str, ...] = Field(
        ("test_with_global", "test_without_global"), validation_alias=_alias("TEST_SPLITS")
    )
    shard_size: int = Field(
        25_000,
        gt=0,
        validation_alias=_alias("SHARD_SIZE"),
        description="rows per Parquet shard (also the unit of parallel work)",
    )
    seed: int = Field(0, validation_alias=_alias("SEED"))

    # ---------------------------------------------------------------------------------
    @field_validator("language", mode="before")
    @classmethod
    def _lower_language(cls, value: Any) -> Any:
        return value.lower() if isinstance(value, str) else value

    @field_validator("latent_a_end", "latent_b_end", "latent_c_end", mode="before")
    @classmethod
    def _minus_one_is_end(cls, value: Any) -> Any:
        return _end(value)

    @field_validator("operators_lola", "operators_meme", "test_splits", mode="before")
    @classmethod
    def _one_string_is_a_list(cls, value: Any) -> Any:
        return [value] if isinstance(value, str) else value

    @model_validator(mode="after")
    def _check(self) -> LolamemeConfig:
        self._apply_mean_var_length()
        for low, high in (
            ("min_var_length", "max_var_length"),
            ("min_int_value", "max_int_value"),
            ("expression_min_depth", "expression_max_depth"),
        ):
            lo, hi = getattr(self, low), getattr(self, high)
            if lo > hi:
                raise ConfigError(
                    f"{low}={lo} is greater than {high}={hi} "
                    f"({low.upper()} must be <= {high.upper()})"
                )
        self._check_splits()
        self._check_operators()
        self._check_latent()
        global_schedule(self)  # raises when train cannot show every global often enough
        return self

    def _apply_mean_var_length(self) -> None:
        if self.mean_var_length is None:
            return
        lo, hi = variable_length_range(self.mean_var_length)
        for name, value in (("min_var_length", lo), ("max_var_length", hi)):
            if name in self.model_fields_set and getattr(self, name) != value:
                raise ConfigError(
                    f"mean_var_length={self.mean_var_length} sets {name}={value}, but "
                    f"{name}={getattr(self, name)} was also given; set only one of them"
                )
            object.__setattr__(self, name, value)

    def _check_operators(self) -> None:
        for field, allowed in (("operators_lola", LOLA_SYMBOLS), ("operators_meme", MEME_SYMBOLS)):
            ops = getattr(self, field)
            bad = [op for op in ops if op not in allowed]
            if bad or not ops or len(set(ops)) != len(ops):
                raise ConfigError(
                    f"{field}={list(ops)} must be a non-empty list of distinct symbols "
                    f"from {list(allowed)}"
                    + (f" (unknown: {', '.join(map(repr, bad))})" if bad else "")
                )
        if "module_mix" in self.languages_used() and not operator_set(self, "module_mix"):
            raise ConfigError(
                "module_mix needs at least one operator allowed in both dialects, but "
                f"operators_lola={list(self.operators_lola)} and "
                f"operators_meme={list(self.operators_meme)} share none"
            )

    def _check_latent(self) -> None:
        if self.latent_a_end > self.latent_b_end:
            raise ConfigError(
                f"latent_a_end={self.latent_a_end} is greater than latent_b_end={self.latent_b_end}"
            )
        probs = self.latent_variable_probability
        if len(probs) not in (2, 3) or any(not 0.0 <= p <= 1.0 for p in probs):
            raise ConfigError(
                f"latent_variable_probability={list(probs)} must be (p_A, p_B) or "
                "(p_A, p_B, p_C) with each in [0, 1]"
            )
        total = sum(probs)
        if total > 1.0 + 1e-9 or (len(probs) == 3 and abs(total - 1.0) > 1e-9):
            raise ConfigError(
                f"latent_variable_probability={list(probs)} sums to {total:g}; "
                "p_A + p_B must be <= 1 (p_C is the rest)"
            )
        latent_config(self)  # parses the modification strings, naming the bad one

    def _check_splits(self) -> None:
        unknown = [s for s in self.test_splits if s not in TEST_SPLITS]
        if unknown:
            raise ConfigError(
                f"unknown test split(s) {', '.join(unknown)} (valid: {', '.join(TEST_SPLITS)})"
            )
        if len(set(self.test_splits)) != len(self.test_splits):
            raise ConfigError(f"test_splits={list(self.test_splits)} lists a split twice")
        if self.globalvar_count == 0:
            needing = [s for s in self.test_splits if TEST_SPLITS[s][0] == "recall"]
            if needing:
                raise ConfigError(
                    f"test split(s) {', '.join(needing)} need globals but globalvar_count=0 "
                    "(drop them with --set TEST_SPLITS='[\"test_without_global\"]')"
                )

    def languages_used(self) -> set[str]:
        """The training language and every test split's language."""
        return {self.language} | {TEST_SPLITS[s][1] or self.language for s in self.test_splits}


def variable_length_range(mean: int) -> tuple[int, int]:
    """Appendix A.2: mean name length M gives lengths in [round(0.75 M), round(1.25 M)].

    Python's ``round`` (half to even), as the paper's formula is Python.
    """
    return max(1, round(0.75 * mean)), max(1, round(1.25 * mean))


def operator_set(config: LolamemeConfig, dialect: str) -> tuple[str, ...]:
    """The LoLa symbols an item of ``dialect`` may use (MeMe items map through MEME_SYMBOLS).

    A module-mixed item may write each operator in either dialect, so it uses only the
    operators both lists allow. Returned as LoLa symbols, in the canonical order.
    """
    lola = set(config.operators_lola)
    meme = {LOLA_SYMBOLS[MEME_SYMBOLS.index(s)] for s in config.operators_meme}
    chosen = {"lola": lola, "meme": meme, "module_mix": lola & meme}[dialect]
    return tuple(s for s in LOLA_SYMBOLS if s in chosen)


def latent_config(config: LolamemeConfig) -> LatentConfig:
    """The :class:`~lolameme.languages.LatentConfig` this data set is labelled with."""
    return LatentConfig(
        config.latent_a_end,
        config.latent_b_end,
        config.latent_type_a_modification,
        config.latent_type_b_modification,
        config.latent_type_c_modification,
    )


def type_weights(config: LolamemeConfig) -> tuple[float, float, float]:
    """Chance that a new name gets latent type A, B or C, after moving empty types' shares.

    docs/languages.md section 3: p_C is what p_A and p_B leave, and when C's letter range is
    empty its share goes to B. We extend the rule the same way: an empty B passes its share to C
    (or A when C is empty too), an empty A passes its share to B (or C).
    """
    probs = config.latent_variable_probability
    pa, pb = probs[0], probs[1]
    pc = probs[2] if len(probs) == 3 else max(0.0, 1.0 - pa - pb)
    a_len = config.latent_a_end
    b_len = config.latent_b_end - config.latent_a_end
    c_len = 26 - config.latent_b_end
    if c_len == 0:
        pb, pc = pb + pc, 0.0
    if b_len == 0:
        if c_len:
            pc, pb = pc + pb, 0.0
        else:
            pa, pb = pa + pb, 0.0
    if a_len == 0:
        if b_len:
            pb, pa = pb + pa, 0.0
        else:
            pc, pa = pc + pa, 0.0
    total = pa + pb + pc
    if total <= 0:
        raise ConfigError("latent_variable_probability gives every latent type probability 0")
    return pa / total, pb / total, pc / total


def noise_count(config: LolamemeConfig) -> int | None:
    """Statements per item outside the output's dependency slice; None = not controlled."""
    if config.noise_share is None:
        return None
    n = config.statement_count
    return min(round(config.noise_share * n), n - 1)


def item_capacity(config: LolamemeConfig) -> int:
    """The most global occurrences one item can hold.

    Every leaf of an expression can be a global; a depth-d statement has d + 1 leaves
    (the generator builds chains such as ``(a + (b * c))``). With a controlled noise
    share, each slice statement but the last spends one leaf on reading the statement it
    feeds.
    """
    n = config.statement_count
    slots = n * (config.expression_max_depth + 1)
    noise = noise_count(config)
    if noise is not None:
        slots -= n - noise - 1
    return slots


def global_schedule(config: LolamemeConfig) -> int:
    """How many scheduled global occurrences every training item carries.

    Item ``i`` of train takes positions ``[i*q, (i+1)*q)`` of an endless sequence of
    shuffled copies of the globals, so each global occurs at least
    ``floor(DATASET_SIZE * q / GLOBALVAR_COUNT)`` times, which is at least
    ``GLOBAL_VARIABLES_NUM_APPEARANCE`` for ``q = ceil(N * G / DATASET_SIZE)``. Raises
    (with the numbers) when ``q`` exceeds what one item can hold.
    """
    g, n_app, size = (
        config.globalvar_count,
        config.global_variables_num_appearance,
        config.dataset_size,
    )
    if g == 0 or n_app == 0:
        return 0
    q = math.ceil(n_app * g / size)
    capacity = item_capacity(config)
    if q > capacity:
        need = math.ceil(n_app * g / capacity)
        raise ConfigError(
            f"train is too small for the globals: GLOBALVAR_COUNT={g} x "
            f"GLOBAL_VARIABLES_NUM_APPEARANCE={n_app} = {n_app * g} global occurrences are "
            f"needed, but DATASET_SIZE={size} items hold at most {capacity} each "
            f"(= {capacity * size}); use DATASET_SIZE >= {need}, fewer globals or "
            "fewer appearances"
        )
    return q
