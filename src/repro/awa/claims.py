"""AWA's stored runs as observations for the claims ledger (:mod:`repro.claims`).

One row per (seed, arm, metric, cell). Arms: the reweighting methods of a CTSDG run (``fixed``,
``awa``, ``adaloss``, ``gradnorm``, ``gradsim``), Table II's experiments (``1`` ... ``6``), Tables
IV/V's generators (``prvs+fixed``, ``prvs+awa``, ``edgeconnect+fixed``, ``edgeconnect+awa``), the
classical fills (``Telea``, ``Navier-Stokes``: no seed, ``-1``), Fig. 1's grid points
(``grid p=<weight_p> s=<weight_s>``) and, for Fig. 4, one arm per auxiliary weight
(``weight <term>``: the final weight, metric ``final_weight``) and ``rise during fine-tuning`` /
``rise before fine-tuning`` (each weight's change per step during fine-tuning and over as many
steps before it, divided by the weight's bound, metric ``weight_rise``, cell per weight). Cells: ``t1/<bin>`` (Table I's seeds), ``f1/<bin>``,
``t2/<bin>``, ``t3/<bin>``, ``t4/<bin>`` (the CelebA analogue), ``t5/<bin>`` (Paris StreetView's),
``f4/<dataset>`` (Fig. 4's runs: Table I's AWA runs, every seed, below scale='paper'). Items a scale leaves out
(:data:`repro.awa.tables.LEFT_OUT`) give no rows. Read inside :func:`repro.store.stored_only`.
"""
from __future__ import annotations

import pandas as pd

from repro.awa import tables
from repro.awa.experiments import METRICS
from repro.awa.losses import TERM_NAMES, UPPER_BOUNDS
from repro.claims import observe
from repro.config import parse_scale


def _scores(seed: int, arm: str, result: dict, table: str, n: int) -> list[dict]:
    return [{"seed": seed, "arm": arm, "metric": m, "cell": f"{table}/{label}", "value": float(score[m]), "n": n}
            for label, score in result["scores"].items() for m in METRICS]


def _n(scale: str, data_root) -> int:
    return tables.config(scale, data_root=data_root).n_test  # test images per hole bin


def _fig1(scale: str, data_root) -> list[dict]:
    if tables.left_out("Fig. 1", scale):
        return []
    n = _n(scale, data_root)
    return [r for p in tables.P_GRID for s in tables.S_GRID
            for r in _scores(0, f"grid p={p:g} s={s:g}", tables._run(scale, data_root, weight_p=p, weight_s=s), "f1", n)]


def _table1(scale: str, data_root) -> list[dict]:
    n, t1, rows = tables.table1_config(scale, data_root).n_test, tables.table1(scale, data_root), []
    for key in ("base", "awa"):
        for seed, result in t1[key].items():
            rows += _scores(seed, "fixed" if key == "base" else "awa", result, "t1", n)
    for name, result in t1["classical"].items():
        rows += _scores(-1, name, result, "t1", n)
    rec = tables.recovery(scale, data_root)
    for key, runs in rec.items():
        for seed, result in runs.items():
            rows += _scores(seed, key, result, "rec", n)
    start = tables.RECOVERY["weight_s"]
    for seed, result in rec["awa"].items():
        final = tables.weight_frame(result).iloc[-1]
        for term in TERM_NAMES[3:]:  # the style weights
            cell = f"rec-w/{term}"
            rows += [{"seed": seed, "arm": "final style weight", "metric": "final_weight", "cell": cell, "value": float(final[term]), "n": 1},
                     {"seed": seed, "arm": "initial style weight", "metric": "final_weight", "cell": cell, "value": float(start), "n": 1}]
    return rows


def _tables2_3(scale: str, data_root) -> list[dict]:
    n, rows = _n(scale, data_root), []
    if not tables.left_out("Table II", scale):
        for exp, (_, overrides) in tables.ABLATION.items():
            rows += _scores(0, str(exp), tables._run(scale, data_root, **overrides), "t2", n)
    if not tables.left_out("Table III", scale):
        for arm, result in tables.table3(scale, data_root).items():
            rows += _scores(0, tables.REWEIGHTING.get(arm, arm), result, "t3", n)
    return rows


def _universality(scale: str, data_root) -> list[dict]:
    n, rows = _n(scale, data_root), []
    universality = {} if tables.left_out("Table IV", scale) else tables.universality(scale, data_root)
    for table, pairs in universality.items():
        for name, pair in pairs.items():
            generator = tables.OTHER_GENERATORS[name]
            for key in ("base", "awa"):
                rows += _scores(0, f"{generator}+{'fixed' if key == 'base' else 'awa'}", pair[key], {"IV": "t4", "V": "t5"}[table], n)
    return rows + _fig4(scale, data_root)


def _fig4(scale: str, data_root) -> list[dict]:
    """Fig. 4's weights (:func:`repro.awa.tables.fig4`: Table I's AWA runs below scale='paper'), per seed."""
    rows, bounds = [], dict(zip(TERM_NAMES, UPPER_BOUNDS))
    for (dataset, seed), result in tables.fig4(scale, data_root).items():
        weights, start = tables.weight_frame(result), result["finetune_start"]
        length = len(weights) - 1 - start
        for term in TERM_NAMES:
            w = weights[term]
            during = (w.iloc[-1] - w.iloc[start]) / max(length, 1) / bounds[term]
            before = (w.iloc[start] - w.iloc[max(0, start - length)]) / max(min(length, start), 1) / bounds[term]
            cell = f"f4/{dataset}"
            rows += [{"seed": seed, "arm": f"weight {term}", "metric": "final_weight", "cell": cell, "value": float(w.iloc[-1]), "n": 1},
                     {"seed": seed, "arm": "rise during fine-tuning", "metric": "weight_rise", "cell": f"{cell}/{term}", "value": float(during), "n": 1},
                     {"seed": seed, "arm": "rise before fine-tuning", "metric": "weight_rise", "cell": f"{cell}/{term}", "value": float(before), "n": 1}]
    return rows


#: The chapter whose runs test a claim (the ledger's ``chapter``) -> its observations.
CHAPTERS = {"awa_01_method": _fig1, "awa_02_comparison": _table1, "awa_03_ablation": _tables2_3, "awa_04_universality": _universality}


def observations(scale: str, data_root: "str | None" = None, chapters: "tuple | None" = None) -> pd.DataFrame:
    """The stored runs of ``chapters`` (default: every AWA chapter) at ``scale`` as observation rows;
    ``.attrs["left_out"]``: the items ``scale`` does not run, with the reason (:data:`repro.awa.tables.LEFT_OUT`)."""
    frame = observe(CHAPTERS, scale, data_root, chapters)
    frame.attrs["left_out"] = {item: tables.left_out_reason(scale) for item in tables.LEFT_OUT.get(parse_scale(scale), ())}
    return frame
