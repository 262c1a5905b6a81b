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

Bad values fail at construction, with the valid values listed. Besides each config's own checks,
every field is checked against its annotation and its name (:meth:`ExperimentConfig.validate`):
numbers are finite; ``lr`` / ``*_lr`` are positive; ``lambda_*`` / ``weight_*`` are non-negative;
``*_momentum`` / ``*_fraction`` lie in [0, 1]; a ``*_low`` / ``*_high`` pair is a positive range;
integers are non-negative; tuples hold numbers of their declared type. ``None`` is a value only for
``data_root``: an override of ``None`` is an error, not a silent fall-back to the preset.
"""
from __future__ import annotations

import dataclasses
import enum
import hashlib
import json
import math
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


def _annotation(field: dataclasses.Field) -> str:
    """A field's annotation as written (``"int"``, ``"tuple[float, ...]"``), whether or not it was a string."""
    return str(field.type).strip("'\"")


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
    #: A stable name of the config type (e.g. ``"mtadam.pix2pix"``), part of every key: moving or
    #: renaming the module keeps the stored results. Every subclass declares its own.
    NAME: ClassVar[str] = "experiment"
    #: Per-scale defaults (:meth:`create`): ``{Scale.SMOKE: {...}, Scale.CPU: {...}, Scale.PAPER: {...}}``.
    PRESETS: ClassVar[Mapping[Scale, Mapping[str, Any]]] = {}
    #: Integer fields that must be >= 1 (checked by :meth:`validate`).
    AT_LEAST_ONE: ClassVar[tuple[str, ...]] = ()
    #: Image counts that must be >= 1, except 0 = "every image of the folder" at scale='paper'.
    ALL_AT_PAPER: ClassVar[tuple[str, ...]] = ()

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if "NAME" not in cls.__dict__:
            raise TypeError(f"{cls.__qualname__} must declare NAME, the stable name its stored results are keyed by")

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
            self._check_field(field.name, _annotation(field), getattr(self, field.name))
        for name in self.AT_LEAST_ONE:
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be >= 1, got {getattr(self, name)}")
        for name in self.ALL_AT_PAPER:
            if getattr(self, name) < (0 if self.scale is Scale.PAPER else 1):
                raise ValueError(f"{name} must be >= 1 (0 = all, at scale='paper'), got {getattr(self, name)}")
        names = {f.name for f in dataclasses.fields(self)}
        for low in sorted(n for n in names if n.endswith("_low")):
            high = low.removesuffix("_low") + "_high"
            if high in names and not 0 < getattr(self, low) <= getattr(self, high):
                raise ValueError(f"{type(self).__name__}: {low}..{high} must be a positive range (0 < low <= high), "
                                 f"got {getattr(self, low)!r}..{getattr(self, high)!r}")
        if self.scale is Scale.PAPER:
            if self.data_root is None:
                raise ValueError(
                    "scale='paper' needs the papers' real datasets: pass data_root='/path/to/datasets' "
                    "(see the book's introduction for the expected layout), or use scale='cpu'"
                )
            if not Path(self.data_root).expanduser().is_dir():
                raise ValueError(f"data_root {self.data_root!r} is not a folder; pass the folder holding the datasets")

    def _check_field(self, name: str, kind: str, value: Any) -> None:
        where = f"{type(self).__name__}.{name}"

        def is_number(x: Any) -> bool:
            return isinstance(x, (int, float)) and not isinstance(x, bool)

        if kind == "int":
            if not isinstance(value, int) or isinstance(value, bool) or value < 0:
                raise ValueError(f"{where} must be a non-negative integer, got {value!r}")
        elif kind == "float":
            if not is_number(value) or not math.isfinite(value):
                raise ValueError(f"{where} must be a finite number, got {value!r}")
            if (name == "lr" or name.endswith("_lr")) and value <= 0:
                raise ValueError(f"{where} is a learning rate and must be positive, got {value!r}")
            if name.startswith(("lambda_", "weight_")) and value < 0:
                raise ValueError(f"{where} is a loss weight and must be non-negative, got {value!r}")
            if name.endswith(("_momentum", "_fraction")) and not 0 <= value <= 1:
                raise ValueError(f"{where} must lie in [0, 1], got {value!r}")
        elif kind == "bool":
            if not isinstance(value, bool):
                raise ValueError(f"{where} must be True or False, got {value!r}")
        elif kind in ("str", "str | None"):
            if not (isinstance(value, str) or (value is None and kind == "str | None")):
                raise ValueError(f"{where} must be a string, got {value!r}")
        elif kind.startswith("tuple"):
            element = "int" if kind == "tuple[int, ...]" else "number"
            if not isinstance(value, tuple) or not value or not all(
                    is_number(v) and math.isfinite(v) and (element == "number" or isinstance(v, int)) for v in value):
                raise ValueError(f"{where} must be a non-empty tuple of {element}s, e.g. {self._example(name)}, got {value!r}")

    @classmethod
    def _example(cls, name: str) -> str:
        default = next((f.default for f in dataclasses.fields(cls) if f.name == name), dataclasses.MISSING)
        return repr(default) if default is not dataclasses.MISSING else "(1, 2)"

    # -- construction -----------------------------------------------------------------------
    @classmethod
    def create(cls: type[T], scale: "str | Scale" = "cpu", seed: int = 0, data_root: "str | None" = None, **overrides: Any) -> T:
        """The config of ``scale`` from the class's :attr:`PRESETS`, then ``overrides`` (see :meth:`for_scale`)."""
        return cls.for_scale(scale, cls.PRESETS, seed=seed, data_root=data_root, **overrides)

    @classmethod
    def for_scale(
        cls: type[T],
        scale: "str | Scale",
        presets: Mapping[Scale, Mapping[str, Any]],
        **overrides: Any,
    ) -> T:
        """Build a config from per-scale presets, then explicit overrides.

        Unknown override names fail with the valid field names listed; so does ``None`` for any
        field but ``data_root`` (leave the parameter out to use the preset). A list given for a
        tuple field is taken as that tuple (papermill passes tuples as lists).
        """
        scale = parse_scale(scale)
        fields = {f.name: f for f in dataclasses.fields(cls)}
        unknown = sorted(set(overrides) - set(fields))
        if unknown:
            raise ValueError(f"unknown parameter(s) {unknown} for {cls.__name__}; valid: {sorted(fields)}")
        nones = sorted(k for k, v in overrides.items() if v is None and k != "data_root")
        if nones:
            raise ValueError(f"{cls.__name__}: None is not a value for {', '.join(nones)}; leave "
                             f"{'it' if len(nones) == 1 else 'them'} out to use the {scale.value} preset")
        values = dict(presets.get(scale, {}))
        values.update(overrides)
        for name, value in values.items():
            if isinstance(value, list) and _annotation(fields[name]).startswith("tuple"):
                values[name] = tuple(value)
        return cls(scale=scale, **values)

    @staticmethod
    def subclasses() -> "list[type[ExperimentConfig]]":
        """Every config class defined so far, at any depth below :class:`ExperimentConfig`, in
        definition order (import the experiments to see them all: ``repro.cli.experiment_modules``)."""
        found, todo = [], list(ExperimentConfig.__subclasses__())
        while todo:
            cls = todo.pop(0)
            if cls not in found:
                found.append(cls)
                todo.extend(cls.__subclasses__())
        return found

    @staticmethod
    def types() -> "dict[str, type[ExperimentConfig]]":
        """Every config type defined so far, by :attr:`NAME`."""
        return {cls.NAME: cls for cls in ExperimentConfig.subclasses()}

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

        The type's stable :attr:`NAME` (not its module path: moving a file keeps the results) and
        its ``VERSION`` are part of the hash, so two experiments never share a key and results of
        older code are not reused; so is the scale's floating type where it is not float32 (smoke
        results computed in float32 are not reused).
        """
        fields = {"type": self.NAME, "version": self.VERSION, **self.to_dict()}
        if FLOAT_TYPES[self.scale] != "float32":
            fields["float_type"] = FLOAT_TYPES[self.scale]
        payload = json.dumps(fields, sort_keys=True, default=str)
        digest = hashlib.sha256(payload.encode()).hexdigest()[:12]
        return f"{self.scale.value}-seed{self.seed}-{digest}"
