"""Property: for random knob settings, the written data set passes every audit."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from lolameme.data.generate import generate
from lolameme.data.tasks.lolameme.verify import verify_dataset

knobs = st.fixed_dictionaries(
    {
        "LANGUAGE": st.sampled_from(["lola", "meme", "sample_mix", "module_mix"]),
        "STATEMENT_COUNT": st.integers(2, 8),
        "EXPRESSION_MIN_DEPTH": st.integers(0, 1),
        "EXPRESSION_MAX_DEPTH": st.integers(1, 3),
        "PLAIN_ASSIGNMENT_SHARE": st.floats(0, 1),
        "CONSTANT_SHARE": st.floats(0, 0.9),
        "GLOBAL_ASSIGNMENT_SHARE": st.floats(0, 1),
        "NOISE_SHARE": st.one_of(st.none(), st.floats(0, 1)),
        "LOCAL_VAR_COUNT": st.integers(3, 12),
        "GLOBALVAR_COUNT": st.integers(5, 30),
        "GLOBAL_VARIABLES_NUM_APPEARANCE": st.integers(0, 8),
        "LATENT_CARACTER_ASCILA": st.integers(0, 26),
        "LATENT_TYPE_A_MODIFICATION": st.sampled_from(["*2", "", "+3", "/3"]),
        "LATENT_TYPE_B_MODIFICATION": st.sampled_from(["/2", "", "-1"]),
        "USE_FAKER": st.booleans(),
        "SEED": st.integers(0, 10**6),
    }
)


# LOLAMEME_PROPERTY_EXAMPLES=200 for a longer hunt; 12 keep the default suite quick.
EXAMPLES = int(os.environ.get("LOLAMEME_PROPERTY_EXAMPLES", "12"))


@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(knobs=knobs)
def test_random_configs_pass_the_audit(knobs: dict) -> None:
    sizes = {"DATASET_SIZE": 120, "TEST_DATASET_SIZE": 30, "SHARD_SIZE": 50}
    splits = ["test_with_global", "test_without_global", "test_module_mix"]
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "ds"
        generate("lolameme", "base", {**knobs, **sizes, "TEST_SPLITS": splits}, out)
        reports = verify_dataset(out)
    assert {s: r.problems for s, r in reports.items()} == {s: [] for s in reports}
