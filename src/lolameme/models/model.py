"""The language model: embeddings, a list of blocks, a final LayerNorm, an LM head
(tied to the token embedding unless configured).

    x = wte(ids) [+ wpe(positions)]        # learned positions only if no layer is position-aware
    for block in blocks: x = block(x)      # a block may start with a width adapter
    x = proj_out(x)                        # adapter back to the embedding width, if needed
    logits = lm_head(ln_f(x))              # lm_head.weight is wte.weight when tied (GPT-2)

``forward`` always returns logits (B, L, V). ``prefill``/``step`` give the same logits
one position at a time, for fast greedy decoding.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import torch
from torch import Tensor, nn

from lolameme.models.block import Block
from lolameme.models.config import ExternalModelConfig, InitName, LayerConfig, ModelConfig
from lolameme.models.external import ExternalModel
from lolameme.models.mixers import Mixer
from lolameme.models.plugins import resolve_mixer
from lolameme.models.spec import MixerKwargs, parse_spec

INIT_STD = 0.02  # GPT-2's initializer_range
INIT_WIDTH = 768  # the width GPT-2's INIT_STD was chosen for (GPT-2 small)


@dataclass
class DecodeState:
    """What :meth:`LanguageModel.step` needs: how many tokens were seen, per-layer states."""

    position: int
    layers: list[Any]


def _build_mixer(layer: LayerConfig, index: int, n_layers: int, l_max: int) -> Mixer:
    cls, _ = resolve_mixer(layer.mixer, where=f"layer {index}")
    cls.check_config(layer.width, layer.kwargs, where=f"layer {index}")
    return cls(layer.width, index, n_layers, l_max=l_max, **layer.kwargs)


class LanguageModel(nn.Module):
    def __init__(self, config: ModelConfig) -> None:
        super().__init__()
        self.config = config
        n_layers = len(config.layers)
        width = config.embed_width
        mixers = [
            _build_mixer(layer, i, n_layers, config.max_seq_len)
            for i, layer in enumerate(config.layers)
        ]
        # Convolutions see relative positions through their filters; attention does not.
        # A model without any position-aware layer gets GPT-2's learned positions.
        self.learned_positions = not any(m.position_aware for m in mixers)

        self.wte = nn.Embedding(config.vocab_size, width)
        self.wpe = nn.Embedding(config.max_seq_len, width) if self.learned_positions else None
        blocks, d = [], width
        for mixer, layer in zip(mixers, config.layers, strict=True):
            blocks.append(Block(mixer, layer.mlp_width, d_in=d))
            d = layer.width
        self.blocks = nn.ModuleList(blocks)
        self.proj_out = nn.Linear(d, width) if d != width else None
        self.ln_f = nn.LayerNorm(width)
        self.lm_head = nn.Linear(width, config.vocab_size, bias=False)
        if config.tie_embeddings:
            self.lm_head.weight = self.wte.weight  # weight tying, as GPT-2
        if config.init != "pytorch":
            self._init_weights(scaled=config.init == "scaled")

    # --- initialisation ----------------------------------------------------------------
    def _init_weights(self, scaled: bool = False) -> None:
        """GPT-2 init, written out; ``scaled`` rescales it to each layer's width.

        1. Every Linear and Embedding weight ~ N(0, std), every Linear bias 0. This
           includes the MLP of Hyena's implicit filter, as safari's LM init does.
           Convolutions, LayerNorms, Hyena's skip ``D`` and sine frequencies keep the
           initialisation their modules give them.
        2. Projections that write into the residual stream (attention ``c_proj``,
           Hyena ``out_proj``, MLP ``c_proj``) ~ N(0, std / sqrt(2 * n_layers)):
           each block adds two such terms, so the stream's variance stays bounded
           with depth.
        3. Width adapters ~ N(0, 1 / d_in), bias 0: they preserve the scale of the
           residual stream (0.02 would shrink it by about 0.6 per bridge at width 864).

        GPT-2's std is 0.02 everywhere, tuned for width 768: at width 64 a layer's
        output starts about sqrt(768 / 64) = 3.5x smaller than at 768. ``scaled`` uses
        std = 0.02 * sqrt(768 / fan_in) (a Linear's input width, an embedding's width),
        which equals GPT-2's at fan-in 768 and keeps every layer's output variance
        independent of the width, as a 1/sqrt(fan_in) init does.
        """

        def std(fan_in: int) -> float:
            return INIT_STD * math.sqrt(INIT_WIDTH / fan_in) if scaled else INIT_STD

        for module in self.modules():
            if isinstance(module, nn.Linear):
                nn.init.normal_(module.weight, mean=0.0, std=std(module.in_features))
                if module.bias is not None:
                    nn.init.zeros_(module.bias)
            elif isinstance(module, nn.Embedding):
                nn.init.normal_(module.weight, mean=0.0, std=std(module.embedding_dim))
        depth_factor = 1.0 / math.sqrt(2 * len(self.blocks))
        for block in self.blocks:
            for proj in [*block.mixer.residual_projections(), block.mlp.c_proj]:
                nn.init.normal_(proj.weight, mean=0.0, std=std(proj.in_features) * depth_factor)
        for adapter in self.adapters():
            nn.init.normal_(adapter.weight, mean=0.0, std=1.0 / math.sqrt(adapter.in_features))

    def adapters(self) -> list[nn.Linear]:
        """The linear width bridges, in order from input to output."""
        found = [b.proj_in for b in self.blocks if b.proj_in is not None]
        return found + ([self.proj_out] if self.proj_out is not None else [])

    # --- the forward pass --------------------------------------------------------------
    def _embed(self, input_ids: Tensor, start: int) -> Tensor:
        length = input_ids.shape[1]
        if start + length > self.config.max_seq_len:
            raise ValueError(
                f"sequence of {start + length} tokens exceeds max_seq_len {self.config.max_seq_len}"
            )
        x = self.wte(input_ids)
        if self.wpe is not None:
            positions = torch.arange(start, start + length, device=input_ids.device)
            x = x + self.wpe(positions)
        return x

    def _head(self, x: Tensor) -> Tensor:
        if self.proj_out is not None:
            x = self.proj_out(x)
        return self.lm_head(self.ln_f(x))

    def forward(self, input_ids: Tensor) -> Tensor:
        """Token ids (B, L) -> next-token logits (B, L, V)."""
        x = self._embed(input_ids, 0)
        for block in self.blocks:
            x = block(x, input_ids)  # the ids reach only mixers that read them
        return self._head(x)

    # --- incremental decoding ----------------------------------------------------------
    def prefill(self, input_ids: Tensor, keep: int | None = None) -> tuple[Tensor, DecodeState]:
        """Logits (B, L, V) and the state that continues the first ``keep`` positions
        (default: all) with :meth:`step`.

        All rows share one length. With ``keep``, one parallel pass scores a known
        continuation (teacher-forced, positions ``keep``..) and also starts decoding
        after the prompt. Call under ``torch.inference_mode()`` when decoding.
        """
        length = input_ids.shape[1]
        keep = length if keep is None else keep
        if not 1 <= keep <= length:
            raise ValueError(f"keep={keep} must be between 1 and the length {length}")
        x = self._embed(input_ids, 0)
        states = []
        for block in self.blocks:
            x, state = block.prefill(x, input_ids, keep=keep)
            states.append(state)
        return self._head(x), DecodeState(position=keep, layers=states)

    def step(self, token_ids: Tensor, state: DecodeState) -> tuple[Tensor, DecodeState]:
        """Feed one token per row (B,) -> logits (B, V) for the next position, new state."""
        x = self._embed(token_ids.unsqueeze(1), state.position)[:, 0]
        states = []
        for block, layer_state in zip(self.blocks, state.layers, strict=True):
            x, layer_state = block.step(x, layer_state, token_ids)
            states.append(layer_state)
        return self._head(x), DecodeState(position=state.position + 1, layers=states)

    # --- what the model reports --------------------------------------------------------
    @property
    def spec(self) -> str:
        return self.config.spec

    @property
    def vocab_size(self) -> int:
        return self.config.vocab_size

    @property
    def max_seq_len(self) -> int:
        return self.config.max_seq_len

    def num_parameters(self) -> int:
        """Trainable numbers, a tied embedding/head matrix counted once."""
        return sum(p.numel() for p in self.parameters())

    def state_size(self, sequence_length: int | None = None) -> int:
        """Sum of the mixers' decode state sizes after ``sequence_length`` (default max_seq_len)."""
        length = self.config.max_seq_len if sequence_length is None else sequence_length
        return sum(block.mixer.state_size(length) for block in self.blocks)

    def param_groups(self, weight_decay: float) -> list[dict[str, Any]]:
        """AdamW groups, nanoGPT's rule: decay tensors with >= 2 dims (matrices,
        embeddings, conv kernels), not biases, LayerNorms or frequencies; and never
        the implicit-filter parameters of Hyena/BaseConv, as safari."""
        exempt = {id(p) for block in self.blocks for p in block.mixer.no_weight_decay()}
        decay, no_decay = [], []
        for p in self.parameters():
            if p.requires_grad:
                (decay if p.dim() >= 2 and id(p) not in exempt else no_decay).append(p)
        return [
            {"params": decay, "weight_decay": weight_decay},
            {"params": no_decay, "weight_decay": 0.0},
        ]

    def filter_parameters(self) -> list[nn.Parameter]:
        """Every layer's implicit-filter parameters (:meth:`Mixer.filter_parameters`),
        each once: the set a trainer may give its own learning rate and weight decay."""
        unique = {id(p): p for b in self.blocks for p in b.mixer.filter_parameters()}
        return list(unique.values())

    def config_dict(self) -> dict[str, Any]:
        """A JSON-ready description that :meth:`from_config_dict` rebuilds the model from."""
        return self.config.model_dump(mode="json")

    @classmethod
    def from_config_dict(cls, data: dict[str, Any]) -> LanguageModel:
        """Rebuild from :meth:`config_dict` (plugin mixers are imported by their path)."""
        return cls(ModelConfig.model_validate(data))


def model_from_config_dict(data: dict[str, Any]) -> LanguageModel | ExternalModel:
    """Rebuild whichever model a saved ``config_dict()`` describes: an external
    builder's (the dict names a ``builder``) or a :class:`LanguageModel`."""
    if "builder" in data:
        return ExternalModel.from_config_dict(data)
    return LanguageModel.from_config_dict(data)


def build_model(
    spec: str,
    *,
    scale: str = "tiny",
    vocab_size: int,
    max_seq_len: int = 1024,
    tie_embeddings: bool = True,
    init: InitName = "gpt2",
    mixer_kwargs: MixerKwargs | None = None,
) -> Any:
    """Build the model a spec string names (see :mod:`lolameme.models.spec`) at ``scale``:
    a :class:`LanguageModel`, or an :class:`ExternalModel` when ``spec`` is a builder's
    import path."""
    config = parse_spec(
        spec,
        scale=scale,
        vocab_size=vocab_size,
        max_seq_len=max_seq_len,
        tie_embeddings=tie_embeddings,
        init=init,
        mixer_kwargs=mixer_kwargs,
    )
    if isinstance(config, ExternalModelConfig):
        return ExternalModel(config)
    return LanguageModel(config)
