"""The registry of sequence mixers: name -> class.

A new mixer is one file in this folder (a :class:`~.base.Mixer` subclass with a
``name``) plus one line below; spec strings can then use it by name.
"""

from __future__ import annotations

from lolameme.models.mixers.attention import CausalSelfAttention
from lolameme.models.mixers.base import Mixer
from lolameme.models.mixers.base_conv import BaseConv
from lolameme.models.mixers.based import Based
from lolameme.models.mixers.delta_net import DeltaNet
from lolameme.models.mixers.h3 import H3
from lolameme.models.mixers.hyena import Hyena
from lolameme.models.mixers.mamba import Mamba
from lolameme.models.mixers.rwkv import RWKV
from lolameme.models.mixers.sliding_window import SlidingWindowAttention
from lolameme.models.mixers.sparse_attention import SparseAttention

MIXERS: dict[str, type[Mixer]] = {
    CausalSelfAttention.name: CausalSelfAttention,
    Hyena.name: Hyena,
    BaseConv.name: BaseConv,
    H3.name: H3,
    Mamba.name: Mamba,
    RWKV.name: RWKV,
    SparseAttention.name: SparseAttention,
    Based.name: Based,
    SlidingWindowAttention.name: SlidingWindowAttention,
    DeltaNet.name: DeltaNet,
}

__all__ = [
    "H3",
    "MIXERS",
    "RWKV",
    "BaseConv",
    "Based",
    "CausalSelfAttention",
    "DeltaNet",
    "Hyena",
    "Mamba",
    "Mixer",
    "SlidingWindowAttention",
    "SparseAttention",
]
