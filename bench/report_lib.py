"""Helpers shared by the benchmark reports (bench/*.sh run `PYTHONPATH=bench python3 -` with their report code)."""
import csv
import os
import statistics


def num(x):
    """x as a float, or None when it is not a number (empty, "NA")."""
    try:
        return float(x)
    except (TypeError, ValueError):
        return None


def med(xs):
    """Median of the values that are not None, or None."""
    xs = [x for x in xs if x is not None]
    return statistics.median(xs) if xs else None


def fmt(x, d=1):
    """x with d decimals and thousands separators; an em dash for None."""
    return "—" if x is None else f"{x:,.{d}f}"


def read_tsv(path):
    """Rows of a tab-separated file with a header line, as dicts ([] when the file is absent)."""
    if not os.path.exists(path):
        return []
    with open(path) as f:
        return list(csv.DictReader(f, delimiter="\t"))


def read_meta(path):
    """A "key<TAB>value" file without header, as a dict."""
    with open(path) as f:
        return dict(l.rstrip("\n").split("\t", 1) for l in f)
