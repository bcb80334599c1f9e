"""Named LoLa/MeMe configs: the paper's settings (Appendix A) and a small CPU one.

A preset lists only what differs from the base config (the defaults of
:class:`~.config.LolamemeConfig`, i.e. Appendix A.1), so ``--set`` overrides
and derived knobs (``mean_var_length``) compose without clashing. Sweeps (globals count
100..1000, mean name length 3..9) are the experiment layer's job: it overrides one knob
of these presets.
"""

from __future__ import annotations

from typing import Any

NO_LATENT = {
    "latent_type_a_modification": "",
    "latent_type_b_modification": "",
    "latent_type_c_modification": "",
}

PRESETS: dict[str, dict[str, Any]] = {
    # A.1: the paper's base config.
    "base": {},
    # A.3: base with a different number of globals (the paper sweeps 100..1000).
    "memorization": {"globalvar_count": 100},
    # A.2: no latent types; names of mean length M in [round(0.75 M), round(1.25 M)]
    # (the paper sweeps M = 3..9).
    "variable_length": {**NO_LATENT, "mean_var_length": 6},
    # Section 6.3: 15 statements and 1000 globals.
    "long_input": {"statement_count": 15, "globalvar_count": 1000},
    # Operator pre-training: no globals, a large corpus (the paper's 40M items).
    "operator_pretraining": {
        "globalvar_count": 0,
        "dataset_size": 40_000_000,
        "test_splits": ["test_without_global"],
    },
    # Mixing: train on items wholly LoLa or MeMe (50/50); test sample- and module-mixed.
    "mixed": {
        "language": "sample_mix",
        "meme_share": 0.5,
        "test_splits": [
            "test_sample_mix",
            "test_module_mix",
            "test_sample_mix_without_global",
            "test_module_mix_without_global",
        ],
    },
    # Small enough to learn on a laptop CPU in minutes: the data of the experiments'
    # `tiny` scale (docs/results/calibration.md): plain assignments with 10 globals.
    "tiny": {
        **NO_LATENT,
        "globalvar_count": 10,
        "global_variables_num_appearance": 100,
        "expression_min_depth": 0,
        "expression_max_depth": 0,
        "min_var_length": 3,
        "max_var_length": 6,
        "min_int_value": 1,
        "max_int_value": 9,
        "operators_lola": ["+", "-"],
        "operators_meme": ["|", "!"],
        "dataset_size": 8000,
        "test_dataset_size": 300,
    },
}

DESCRIPTIONS: dict[str, str] = {
    "base": "Appendix A.1: 500 globals, 10 locals, 5 statements, depth 1-2, latent types on",
    "memorization": "Appendix A.3: base with GLOBALVAR_COUNT=100 (sweep 100..1000 via --set)",
    "variable_length": "Appendix A.2: no latent types, MEAN_VAR_LENGTH=6 (sweep 3..9 via --set)",
    "long_input": "Section 6.3: 15 statements, 1000 globals",
    "operator_pretraining": "no globals, 40M training items (override DATASET_SIZE for less)",
    "mixed": "train 50/50 LoLa/MeMe items; test sample-mixed and module-mixed",
    "tiny": "the tiny scale's data: 10 globals, plain assignments, no latent types, 8000/300",
}
