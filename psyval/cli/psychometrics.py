"""``psyval efa`` and ``psyval reliability``: thin CLI over :mod:`psyval.psychometrics`."""

from __future__ import annotations

import json
import math
import sys
import warnings
from typing import Any

import click
import numpy as np
import pandas as pd

from psyval.errors import PsyvalError

_FORMATS = ("text", "json", "csv")


def _echo_warnings(caught: list[warnings.WarningMessage]) -> None:
    for warning in caught:
        click.echo(f"psyval: warning: {warning.message}", err=True)


def _finite(value: Any) -> Any:
    """Return ``value`` with NaN and infinite floats replaced by None, so the JSON is standard."""
    if isinstance(value, dict):
        return {str(key): _finite(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [_finite(item) for item in value]
    if isinstance(value, (float, np.floating)):
        return float(value) if math.isfinite(value) else None
    if isinstance(value, np.integer):
        return int(value)
    return value


def _parse_groups(groups: tuple[str, ...]) -> dict[str, list[str]]:
    parsed: dict[str, list[str]] = {}
    for group in groups:
        name, separator, columns = group.partition("=")
        items = [column.strip() for column in columns.split(",") if column.strip()]
        if not separator or not name.strip() or len(items) < 2:
            raise PsyvalError(f"invalid --group {group!r}: write NAME=COLUMN,COLUMN[,...] with at least 2 columns")
        if name.strip() in parsed:
            raise PsyvalError(f"--group name {name.strip()!r} is given twice: give each scale its own name")
        parsed[name.strip()] = items
    return parsed


@click.command("reliability")
@click.argument("data", type=click.Path())
@click.option("--instrument", help="Instrument name or YAML file: one scale per value, reverse keys from the instrument.")
@click.option("--level", type=click.Choice(["basic", "higher", "refined"]), default="basic", show_default=True,
              help="Value level that defines the scales when --instrument is given.")
@click.option("--group", "groups", multiple=True, metavar="NAME=COL,COL,...",
              help="A scale made of data columns; repeat for several scales. No item is reversed.")
@click.option("--missing", type=click.Choice(["pairwise", "listwise"]), default="pairwise", show_default=True,
              help="Pairwise-complete covariances (psych::alpha's default) or listwise deletion; counts are reported.")
@click.option("--format", "output_format", type=click.Choice(_FORMATS), default="text", show_default=True,
              help="Report format: text tables, JSON, or one CSV table of totals.")
def reliability(data: str, instrument: str | None, level: str, groups: tuple[str, ...], missing: str,
                output_format: str) -> None:
    """Cronbach's alpha, omega total and item statistics per value or column group of DATA."""
    from psyval.psychometrics.reliability import reliability as compute
    from psyval.psychometrics.sem.data import read_table

    if bool(instrument) == bool(groups):
        raise PsyvalError("pass either --instrument (scales per value) or one or more --group NAME=COL,COL options")
    results = []
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        if instrument:
            from psyval.instruments import load_instrument
            from psyval.psychometrics.instrument_data import group_items, load_item_table

            loaded = load_instrument(instrument)
            table = load_item_table(data, loaded)
            # load_item_table has already reflected the reverse-keyed items.
            for value, items in group_items(loaded, level).items():
                if len(items) < 2:
                    click.echo(f"psyval: warning: value {value!r} has one item; skipped", err=True)
                    continue
                results.append(compute(table, items, name=value, missing=missing))  # type: ignore[arg-type]
        else:
            table = read_table(data)
            for name, items in _parse_groups(groups).items():
                results.append(compute(table, items, name=name, missing=missing))  # type: ignore[arg-type]
    _echo_warnings(caught)
    if output_format == "csv":
        click.echo(pd.concat([r.total for r in results]).to_csv(index_label="scale"), nl=False)
        return
    if output_format == "json":
        document = {
            r.name: {
                "total": r.total.iloc[0].to_dict(),
                "alpha_drop": r.alpha_drop.to_dict(orient="index"),
                "item_stats": r.item_stats.to_dict(orient="index"),
                "reversed_items": r.reversed_items,
            }
            for r in results
        }
        click.echo(json.dumps(_finite(document), indent=2))
        return
    for r in results:
        click.echo(f"Reliability analysis: {r.name} ({int(r.total['n_items'].iloc[0])} items, "
                   f"{int(r.total['n_obs'].iloc[0])} observations)")
        click.echo(r.total.drop(columns=["n_items", "n_obs"]).to_string(float_format=lambda v: f"{v:.3f}"))
        click.echo("\nReliability if an item is dropped:")
        click.echo(r.alpha_drop.to_string(float_format=lambda v: f"{v:.3f}"))
        click.echo("\nItem statistics (r.drop is the item-rest correlation):")
        click.echo(r.item_stats.to_string(float_format=lambda v: f"{v:.3f}"))
        click.echo("")


@click.command("efa")
@click.argument("data", type=click.Path())
@click.option("--factors", type=int, help="Number of factors; default: the number parallel analysis suggests.")
@click.option("--method", type=click.Choice(["minres", "ml", "principal"]), default="minres", show_default=True,
              help="Extraction method.")
@click.option("--rotation", type=click.Choice(["none", "varimax", "quartimax", "geomin_ort", "oblimin", "promax",
                                               "geomin_obl"]), default="oblimin", show_default=True,
              help="Rotation.")
@click.option("--missing", type=click.Choice(["listwise", "pairwise"]), default="listwise", show_default=True,
              help="Listwise deletion or pairwise-complete correlations; the counts are reported.")
@click.option("--items", help="Comma-separated columns to analyse; default: every numeric column.")
@click.option("--cut", type=click.FloatRange(min=0.0), default=0.0, show_default=True,
              help="Hide loadings smaller than this in absolute value (0 or more).")
@click.option("--format", "output_format", type=click.Choice(_FORMATS), default="text", show_default=True,
              help="Report format: text, JSON, or the loadings as CSV.")
def efa(data: str, factors: int | None, method: str, rotation: str, missing: str, items: str | None, cut: float,
        output_format: str) -> None:
    """Exploratory factor analysis of DATA with KMO, Bartlett's test and parallel analysis."""
    from psyval.psychometrics.efa import efa as compute
    from psyval.psychometrics.efa import format_efa
    from psyval.psychometrics.sem.data import read_table

    columns = [c.strip() for c in items.split(",") if c.strip()] if items is not None else None
    if columns is not None and not columns:
        raise PsyvalError(f"--items {items!r} names no columns; give comma-separated column names such as a1,a2,a3")
    frame = read_table(data)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            result = compute(frame, n_factors=factors, method=method, rotation=rotation,  # type: ignore[arg-type]
                             missing=missing, items=columns)  # type: ignore[arg-type]
        except PsyvalError as error:
            # efa() names its Python argument; the command line calls it --factors.
            if factors is not None and str(error).startswith("n_factors "):
                raise PsyvalError("--factors" + str(error).removeprefix("n_factors")) from None
            raise
    _echo_warnings(caught)
    if output_format == "csv":
        table = result.loadings.copy()
        table["h2"] = result.communalities
        click.echo(table.to_csv(index_label="item"), nl=False)
    elif output_format == "json":
        document = {
            "n_factors": result.n_factors, "method": result.method, "rotation": result.rotation,
            "missing": result.missing, "n_used": result.n_used, "n_total": result.n_total, "df": result.df,
            "diagnostics": result.diagnostics,
            "kmo": result.kmo, "kmo_items": result.kmo_items.to_dict(), "bartlett": result.bartlett,
            "suggested_factors": result.suggested_factors,
            "parallel": result.parallel.reset_index().to_dict(orient="records"),
            "loadings": result.loadings.to_dict(orient="index"),
            "communalities": result.communalities.to_dict(),
            "factor_correlations": None if result.factor_correlations is None
            else result.factor_correlations.to_dict(orient="index"),
        }
        click.echo(json.dumps(_finite(document), indent=2))
    else:
        click.echo(format_efa(result, cut=cut), nl=False)
    if not result.ok:
        # An under-identified model has no unique loadings, so scripts must see the failure, as with sem-fit.
        codes = sorted({d["code"] for d in result.diagnostics if d["severity"] == "error"})
        click.echo(f"psyval: the EFA is not usable ({', '.join(codes)})", err=True)
        sys.exit(1)
