r"""The papers' numbers, as data: one CSV per table under ``data/paper_tables/``.

Each file starts with ``# key: value`` lines naming the paper and the table (``paper``,
``table``, ``caption``, optional ``note`` and ``source``), then the paper's rows and columns. The
chapters compare against these files; no paper number is ever typed into a notebook.

>>> t = load("mtadam", 1)
>>> t.attrs["table"], list(t.columns)[:2]
('1', ['setting', 'optimizer'])
"""
from __future__ import annotations

import functools
from pathlib import Path

import pandas as pd

from repro.paths import data_dir

PAPERS = ("awa", "pgn", "mtadam")


def _folder() -> Path:
    return data_dir() / "paper_tables"


def table_path(paper: str, table: "int | str") -> Path:
    if paper not in PAPERS:
        raise ValueError(f"unknown paper {paper!r}; valid: {', '.join(PAPERS)}")
    path = _folder() / f"{paper}_table{table}.csv"
    if not path.is_file():
        raise ValueError(f"no table {table!r} for {paper}; available: {', '.join(str(t) for t in list_tables(paper))}")
    return path


def list_tables(paper: str) -> list[int]:
    return sorted(int(p.stem.split("table")[1]) for p in _folder().glob(f"{paper}_table*.csv"))


def read_header(path: Path) -> dict[str, str]:
    """The ``# key: value`` lines a data CSV starts with (``data/paper_tables/``, ``data/claims.csv``)."""
    meta = {}
    with open(path, encoding="utf-8") as handle:
        for line in handle:
            if not line.startswith("#"):
                break
            key, _, value = line[1:].partition(":")
            meta[key.strip()] = value.strip()
    return meta


@functools.lru_cache(maxsize=None)
def _load(paper: str, table: int) -> pd.DataFrame:
    path = table_path(paper, table)
    meta = read_header(path)
    frame = pd.read_csv(path, comment="#", dtype={"mask": str})
    frame.attrs.update(meta)
    return frame


def load(paper: str, table: "int | str") -> pd.DataFrame:
    """The paper's table ``table`` as a DataFrame; ``.attrs`` holds its header lines."""
    return _load(paper, int(table)).copy()


def index() -> pd.DataFrame:
    """One row per stored table: paper, table number, shape and caption."""
    rows = []
    for paper in PAPERS:
        for number in list_tables(paper):
            table = load(paper, number)
            rows.append({"paper": paper, "table": table.attrs["table"], "rows": table.shape[0],
                         "columns": table.shape[1], "caption": table.attrs["caption"]})
    return pd.DataFrame(rows)
