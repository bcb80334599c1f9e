"""The devices a run trains and evaluates on: one list, one check, one message.

``lolameme train`` (:class:`~lolameme.training.TrainConfig`'s ``device``), ``eval``,
``predict`` and ``lolameme.load_run`` take the same names, so a typo (``CPU``, ``tpu``)
or a device lolameme never tests (``mps``, ``meta``) is the same one error line in each,
before any work, never torch's traceback. No torch import: the config layer reads it.
"""

from __future__ import annotations

from typing import Literal, get_args

from lolameme.errors import ConfigError

Device = Literal["auto", "cpu", "cuda"]
DEVICES: tuple[str, ...] = get_args(Device)


def check_device(name: object) -> str:
    """Return ``name`` if it is one of :data:`DEVICES`; else a :class:`ConfigError`."""
    if not isinstance(name, str) or name not in DEVICES:
        raise ConfigError(f"invalid --device {name!r} (valid: {', '.join(DEVICES)})")
    return name
