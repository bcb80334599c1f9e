"""Our GPT-2 as Hugging Face's ``GPT2LMHeadModel``: its config and its weight names.

A model made only of attention blocks of one width (the ``gpt2`` preset, or a pattern
such as ``attention*4``) computes exactly what ``GPT2LMHeadModel`` computes: learned
positions, pre-norm blocks, fused ``c_attn`` with biases, tanh-GELU MLP, final LayerNorm,
LM head (tied or not). Only the storage differs: HF's ``Conv1D`` keeps a weight as
(in, out), the transpose of ``nn.Linear``. Tested to 1e-5 on the logits in
``tests/models/test_models_hf_gpt2.py``.

Writing the config and the state dict needs neither ``transformers`` nor a network;
:func:`to_transformers` (which builds the HF module itself) imports it lazily.
"""

from __future__ import annotations

from typing import Any

import torch

from lolameme.models.model import LanguageModel

ATTENTION = "attention"
LAYER_NORM_EPS = 1e-5  # nn.LayerNorm's default, and GPT-2's


def gpt2_problem(model: LanguageModel) -> str | None:
    """Why ``model`` has no ``GPT2LMHeadModel`` twin, or None when it has one."""
    for i, block in enumerate(model.blocks):
        if block.mixer.name != ATTENTION:
            return f"layer {i} is '{block.mixer.name}', and GPT-2 has attention layers only"
    if model.adapters():
        return "its layers differ in width (linear adapters), and GPT-2 has one width"
    hidden = {block.mlp.c_fc.out_features for block in model.blocks}
    if len(hidden) > 1:
        return f"its MLP widths differ ({sorted(hidden)}), and GPT-2 has one"
    heads = {block.mixer.num_heads for block in model.blocks}
    if len(heads) > 1:
        return f"its head counts differ ({sorted(heads)}), and GPT-2 has one"
    return None


def gpt2_config(model: LanguageModel, **special_ids: int) -> dict[str, Any]:
    """The ``config.json`` of the twin (``GPT2Config`` keys), dropout off.

    ``special_ids`` (``bos_token_id``, ``eos_token_id``, ``pad_token_id``) go in as given.
    """
    first = model.blocks[0]
    return {
        "architectures": ["GPT2LMHeadModel"],
        "model_type": "gpt2",
        "vocab_size": model.vocab_size,
        "n_positions": model.max_seq_len,
        "n_ctx": model.max_seq_len,
        "n_embd": model.config.embed_width,
        "n_layer": len(model.blocks),
        "n_head": first.mixer.num_heads,
        "n_inner": first.mlp.c_fc.out_features,
        "activation_function": "gelu_new",  # GPT-2's tanh approximation, as our MLP
        "resid_pdrop": 0.0,
        "embd_pdrop": 0.0,
        "attn_pdrop": 0.0,
        "layer_norm_epsilon": LAYER_NORM_EPS,
        "initializer_range": 0.02,
        "tie_word_embeddings": bool(model.config.tie_embeddings),
        "torch_dtype": "float32",
        **special_ids,
    }


def gpt2_state_dict(model: LanguageModel) -> dict[str, torch.Tensor]:
    """Our weights under ``GPT2LMHeadModel``'s names (contiguous copies, CPU).

    A tied head is stored once, as ``transformer.wte.weight`` (HF ties it on load).
    """
    problem = gpt2_problem(model)
    if problem is not None:
        raise ValueError(f"not a GPT-2 model: {problem}")

    def t(x: torch.Tensor) -> torch.Tensor:
        return x.detach().to("cpu", torch.float32).contiguous().clone()

    out = {
        "transformer.wte.weight": t(model.wte.weight),
        "transformer.wpe.weight": t(model.wpe.weight),
        "transformer.ln_f.weight": t(model.ln_f.weight),
        "transformer.ln_f.bias": t(model.ln_f.bias),
    }
    for i, block in enumerate(model.blocks):
        h = f"transformer.h.{i}"
        linears = {
            "attn.c_attn": block.mixer.c_attn,
            "attn.c_proj": block.mixer.c_proj,
            "mlp.c_fc": block.mlp.c_fc,
            "mlp.c_proj": block.mlp.c_proj,
        }
        for name, linear in linears.items():
            out[f"{h}.{name}.weight"] = t(linear.weight.T)  # Conv1D: (in, out)
            out[f"{h}.{name}.bias"] = t(linear.bias)
        for name, norm in (("ln_1", block.ln_1), ("ln_2", block.ln_2)):
            out[f"{h}.{name}.weight"] = t(norm.weight)
            out[f"{h}.{name}.bias"] = t(norm.bias)
    if not model.config.tie_embeddings:
        out["lm_head.weight"] = t(model.lm_head.weight)
    return out


def to_transformers(model: LanguageModel) -> torch.nn.Module:
    """A ``transformers.GPT2LMHeadModel`` with ``model``'s weights, in eval mode."""
    import transformers

    config = {k: v for k, v in gpt2_config(model).items() if k not in ("architectures",)}
    hf = transformers.GPT2LMHeadModel(transformers.GPT2Config(**config))
    missing, unexpected = hf.load_state_dict(gpt2_state_dict(model), strict=False)
    # HF may miss a tied head (it shares wte) and, in older versions, the causal-mask
    # buffers it keeps under attn.bias / attn.masked_bias
    tied = model.config.tie_embeddings
    leftover = [
        k
        for k in missing
        if not (k == "lm_head.weight" and tied) and not k.endswith(("attn.bias", "masked_bias"))
    ]
    if leftover or unexpected:
        raise ValueError(f"weight names do not match GPT2LMHeadModel: {leftover or unexpected}")
    return hf.eval()
