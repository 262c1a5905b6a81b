r"""Experiment scales and typed, frozen experiment configs.

Every experiment in the book is a pure function of a frozen dataclass deriving from
:class:`ExperimentConfig`. It carries the three parameters every chapter exposes:

``scale``
    ``smoke`` (seconds: CI and ``pytest --nbval``), ``cpu`` (the default the book is built at:
    minutes per chapter on 2 cores) or ``paper`` (the paper's protocol: a GPU and the real
    datasets under ``data_root``). The same code runs all three; only sizes change.
``seed``
    The seed of every random choice of the run.
``data_root``
    Folder of the papers' real datasets; required at ``scale="paper"`` only.

Bad values fail at construction, with the valid values listed.
"""
from __future__ import annotations

import dataclasses
import enum
import hashlib
import json
from pathlib import Path
from typing import Any, ClassVar, Mapping, TypeVar


class Scale(str, enum.Enum):
    """How big a run is. See the module docstring."""

    SMOKE = "smoke"
    CPU = "cpu"
    PAPER = "paper"

    def __str__(self) -> str:  # "cpu", not "Scale.CPU", in file names and messages
        return self.value

    def __repr__(self) -> str:  # configs print as scale='cpu'
        return repr(self.value)


SCALES = tuple(s.value for s in Scale)

#: The floating type each scale computes in (:mod:`repro.numerics` says why smoke is float64).
#: A type other than float32 is part of every stored result's key.
FLOAT_TYPES: dict[Scale, str] = {Scale.SMOKE: "float64", Scale.CPU: "float32", Scale.PAPER: "float32"}


def parse_scale(value: "str | Scale") -> Scale:
    """Turn ``"smoke" | "cpu" | "paper"`` into a :class:`Scale`, or fail naming the valid ones."""
    if isinstance(value, Scale):
        return value
    try:
        return Scale(str(value).strip().lower())
    except ValueError:
        raise ValueError(
            f"unknown scale {value!r}: valid scales are {', '.join(SCALES)} "
            "(smoke = seconds for CI, cpu = the book's default, paper = the paper's protocol on a GPU)"
        ) from None


T = TypeVar("T", bound="ExperimentConfig")


@dataclasses.dataclass(frozen=True)
class ExperimentConfig:
    """Base class of every experiment's config: frozen, typed, validated, hashable to a name.

    Subclasses add their own fields (with defaults) and may extend :meth:`validate`.
    Use :meth:`for_scale` to build the config of a given scale from a table of per-scale
    defaults, so that a notebook only passes ``scale``, ``seed`` and ``data_root``.
    """

    scale: Scale = Scale.CPU
    seed: int = 0
    data_root: "str | None" = None

    #: Bump in a subclass when its experiment's code changes what it computes: stored results
    #: are keyed by the config *and* this version, so stale results are never reused.
    VERSION: ClassVar[int] = 1

    def __post_init__(self) -> None:
        object.__setattr__(self, "scale", parse_scale(self.scale))
        if self.data_root is not None:
            object.__setattr__(self, "data_root", str(self.data_root))
        self.validate()

    # -- validation -------------------------------------------------------------------------
    def validate(self) -> None:
        """Check field types and values; raise one clear ``ValueError`` naming the fix."""
        if isinstance(self.seed, bool) or not isinstance(self.seed, int) or self.seed < 0:
            raise ValueError(f"seed must be a non-negative integer, got {self.seed!r}")
        for field in dataclasses.fields(self):
            value = getattr(self, field.name)
            if field.type in ("int", int) and (isinstance(value, bool) or not isinstance(value, int)):
                raise ValueError(f"{type(self).__name__}.{field.name} must be an int, got {value!r}")
            if field.type in ("float", float) and not isinstance(value, (int, float)):
                raise ValueError(f"{type(self).__name__}.{field.name} must be a number, got {value!r}")
        if self.scale is Scale.PAPER:
            if self.data_root is None:
                raise ValueError(
                    "scale='paper' needs the papers' real datasets: pass data_root='/path/to/datasets' "
                    "(see the book's introduction for the expected layout), or use scale='cpu'"
                )
            if not Path(self.data_root).expanduser().is_dir():
                raise ValueError(f"data_root {self.data_root!r} is not a folder; pass the folder holding the datasets")

    # -- construction -----------------------------------------------------------------------
    @classmethod
    def for_scale(
        cls: type[T],
        scale: "str | Scale",
        presets: Mapping[Scale, Mapping[str, Any]],
        **overrides: Any,
    ) -> T:
        """Build a config from per-scale presets, then explicit overrides.

        Unknown override names fail with the valid field names listed.
        """
        scale = parse_scale(scale)
        names = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(overrides) - names)
        if unknown:
            raise ValueError(f"unknown parameter(s) {unknown} for {cls.__name__}; valid: {sorted(names)}")
        values = dict(presets.get(scale, {}))
        values.update({k: v for k, v in overrides.items() if v is not None or k == "data_root"})
        return cls(scale=scale, **values)

    # -- identity -----------------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        """JSON-ready field values (the scale as its name)."""
        out = {}
        for field in dataclasses.fields(self):
            value = getattr(self, field.name)
            out[field.name] = value.value if isinstance(value, enum.Enum) else value
        return out

    def key(self) -> str:
        """A stable name derived from the config: ``<scale>-seed<seed>-<12 hex of the fields>``.

        The type's qualified name and its ``VERSION`` are part of the hash, so two experiments
        never share a key and results of older code are not reused; so is the scale's floating
        type where it is not float32 (smoke results computed in float32 are not reused).
        """
        fields = {"type": f"{type(self).__module__}.{type(self).__qualname__}", "version": self.VERSION, **self.to_dict()}
        if FLOAT_TYPES[self.scale] != "float32":
            fields["float_type"] = FLOAT_TYPES[self.scale]
        payload = json.dumps(fields, sort_keys=True, default=str)
        digest = hashlib.sha256(payload.encode()).hexdigest()[:12]
        return f"{self.scale.value}-seed{self.seed}-{digest}"
