"""The report's matplotlib figures, each written to a PNG file.

Every function writes one figure and returns its path. When the data cannot
support a figure (a constant column, a model that was not fitted), the figure
still exists and states the reason in its body, so the report never links a missing file.
"""

from __future__ import annotations

import math
import re
import textwrap
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # no display on servers and CI

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from matplotlib.patches import Ellipse, FancyArrowPatch, Rectangle  # noqa: E402
from scipy.spatial import procrustes  # noqa: E402

from psyval.analysis import AnalysisResult  # noqa: E402
from psyval.analysis.correlations import correlation_matrix, significance_marks  # noqa: E402
from psyval.analysis.sem import SemOutcome  # noqa: E402
from psyval.analysis.values import BASIC_VALUES, HIGHER_ORDER, circumplex_angles  # noqa: E402

DPI = 110
MAX_PROFILE_PANELS = 16


def _label(name: str) -> str:
    return name.replace("value_", "").replace("harm_", "").replace("_", " ")


def _save(figure: plt.Figure, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, dpi=DPI, bbox_inches="tight")
    plt.close(figure)
    return path


def placeholder(path: Path, title: str, reason: str) -> Path:
    """Write a figure that states why the real one could not be drawn."""
    figure, axis = plt.subplots(figsize=(6, 2.2))
    axis.axis("off")
    axis.text(0.5, 0.62, title, ha="center", va="center", fontsize=12, weight="bold")
    axis.text(0.5, 0.3, textwrap.fill(reason, 80), ha="center", va="center", fontsize=9)
    return _save(figure, path)


_SAMPLED_SUFFIX = re.compile(r"^(?P<preset>.+)_s\d+$")
_PRESETS = set(BASIC_VALUES) | set(HIGHER_ORDER)


def value_conditions(table: pd.DataFrame) -> pd.Series:
    """Label each row with its value condition, for grouping in figures.

    ``psyval run`` names the k-th profile sampled around a preset
    ``<preset>_s<k>``, so those rows join their preset's group. Other profile
    names are kept as they are. Tables without a ``profile`` column fall back
    to ``condition``, then ``model``.
    """
    for column in ("profile", "condition", "model"):
        if column in table.columns and table[column].notna().any():
            names = table[column].astype(str)
            break
    else:
        return pd.Series("all", index=table.index)

    def family(name: str) -> str:
        match = _SAMPLED_SUFFIX.match(name)
        return match.group("preset") if match and match.group("preset") in _PRESETS else name

    return names.map(family).rename("value condition")


def value_profiles(result: AnalysisResult, path: Path) -> Path:
    """Draw each condition's mean MRAT-centred value profile on a circle in circumplex order.

    The dashed circle is 0, the respondent's own mean importance; points
    outside it are values the condition rates above its mean.
    """
    table = result.population
    groups = value_conditions(table)
    values = result.values
    columns = [f"value_{value}" for value in values]
    means = table.groupby(groups)[columns].mean()
    counts = table.groupby(groups).size()
    if len(means) > MAX_PROFILE_PANELS:
        means = means.loc[counts.sort_values(ascending=False).index[:MAX_PROFILE_PANELS]]
    angles = circumplex_angles(values)
    theta = np.array([angles[value] for value in values] + [angles[values[0]]])
    low = float(np.nanmin(means.to_numpy())) if means.size else -1.0
    high = float(np.nanmax(means.to_numpy())) if means.size else 1.0
    low, high = min(low, -0.5) - 0.2, max(high, 0.5) + 0.2
    panels = len(means)
    columns_per_row = min(4, max(1, panels))
    rows = math.ceil(panels / columns_per_row)
    figure = plt.figure(figsize=(3.3 * columns_per_row, 3.4 * rows))
    for index, (name, profile) in enumerate(means.iterrows()):
        axis = figure.add_subplot(rows, columns_per_row, index + 1, projection="polar")
        radius = np.append(profile.to_numpy(dtype=float), profile.to_numpy(dtype=float)[0])
        axis.plot(theta, radius, color="tab:blue", linewidth=1.6)
        axis.fill(theta, radius, color="tab:blue", alpha=0.15)
        axis.plot(np.linspace(0, 2 * np.pi, 100), np.zeros(100), color="grey", linestyle="--", linewidth=0.8)
        axis.set_ylim(low, high)
        axis.set_xticks(theta[:-1])
        axis.set_xticklabels([_label(value) for value in values], fontsize=7)
        axis.set_yticks([tick for tick in (-1.0, 0.0, 1.0) if low < tick < high])
        axis.tick_params(axis="y", labelsize=6)
        axis.set_rlabel_position(100)
        axis.set_title(f"{name} (n = {counts[name]})", fontsize=9, pad=14)
    figure.suptitle("Mean value profile per condition (MRAT-centred, circumplex order)", fontsize=11)
    figure.tight_layout()
    return _save(figure, path)


def classical_mds(distances: np.ndarray, dimensions: int = 2) -> np.ndarray:
    """Return Torgerson's classical MDS coordinates of a distance matrix.

    References
    ----------
    Torgerson, W. S. (1952). Multidimensional scaling: I. Theory and method.
        *Psychometrika, 17*(4), 401-419. https://doi.org/10.1007/BF02288916
    """
    n = distances.shape[0]
    centring = np.eye(n) - np.ones((n, n)) / n
    inner = -0.5 * centring @ (distances**2) @ centring
    eigenvalues, eigenvectors = np.linalg.eigh(inner)
    order = np.argsort(eigenvalues)[::-1][:dimensions]
    return eigenvectors[:, order] * np.sqrt(np.clip(eigenvalues[order], 0, None))


def mds_circle(result: AnalysisResult, path: Path) -> tuple[Path, float]:
    """Draw the MDS map of the value correlations next to the theoretical circle.

    Distances are :math:`\\sqrt{2(1 - r)}`. The MDS solution is matched to
    evenly spaced points in circumplex order by a Procrustes rotation,
    reflection and scaling; the returned disparity (sum of squared distances
    after standardising both, 0 = same shape) measures the mismatch.
    """
    matrix = result.value_correlations
    if matrix.empty or matrix.isna().to_numpy().any():
        undefined = [value for value in matrix.columns if matrix[value].isna().all()] if not matrix.empty else []
        reason = f"Value correlations are undefined (constant values: {undefined or 'none found'})."
        return placeholder(path, "MDS of value correlations", reason), math.nan
    values = list(matrix.columns)
    distances = np.sqrt(np.clip(2.0 * (1.0 - matrix.to_numpy(dtype=float)), 0, None))
    coordinates = classical_mds(distances)
    angles = circumplex_angles(values)
    theory = np.array([[math.cos(angles[value]), math.sin(angles[value])] for value in values])
    theory_fit, observed_fit, disparity = procrustes(theory, coordinates)
    figure, axis = plt.subplots(figsize=(6.2, 6.2))
    axis.plot(*np.vstack([theory_fit, theory_fit[:1]]).T, color="grey", linestyle="--", linewidth=0.8)
    axis.scatter(*theory_fit.T, facecolors="none", edgecolors="grey", s=60, label="theoretical circle")
    axis.scatter(*observed_fit.T, color="tab:red", s=40, label="observed (MDS)")
    for index, value in enumerate(values):
        axis.plot([theory_fit[index, 0], observed_fit[index, 0]], [theory_fit[index, 1], observed_fit[index, 1]],
                  color="tab:red", linewidth=0.6, alpha=0.6)
        axis.annotate(_label(value), observed_fit[index], fontsize=8, xytext=(4, 4), textcoords="offset points")
    axis.set_aspect("equal")
    axis.set_title(f"MDS of value correlations vs. the theoretical circle\nProcrustes disparity = {disparity:.3f}",
                   fontsize=10)
    axis.legend(loc="lower right", fontsize=8)
    axis.set_xticks([])
    axis.set_yticks([])
    return _save(figure, path), float(disparity)


def value_harm_heatmap(result: AnalysisResult, path: Path, method: str) -> Path:
    """Draw the value x harm correlation matrix with BH-adjusted significance stars."""
    matrix = correlation_matrix(result.correlations, method, "r")  # type: ignore[arg-type]
    p_bh = correlation_matrix(result.correlations, method, "p_bh")  # type: ignore[arg-type]
    figure, axis = plt.subplots(figsize=(1.0 + 0.75 * matrix.shape[1], 1.2 + 0.42 * matrix.shape[0]))
    data = np.ma.masked_invalid(matrix.to_numpy(dtype=float))
    cmap = plt.get_cmap("RdBu_r").with_extremes(bad="#dddddd")
    image = axis.imshow(data, cmap=cmap, vmin=-1, vmax=1, aspect="auto")
    for row in range(matrix.shape[0]):
        for column in range(matrix.shape[1]):
            r = matrix.iat[row, column]
            text = "n/a" if math.isnan(r) else f"{r:.2f}{significance_marks(p_bh.iat[row, column])}"
            axis.text(column, row, text, ha="center", va="center", fontsize=6.5,
                      color="white" if not math.isnan(r) and abs(r) > 0.6 else "black")
    axis.set_xticks(range(matrix.shape[1]))
    axis.set_xticklabels([_label(name) for name in matrix.columns], rotation=45, ha="right", fontsize=8)
    axis.set_yticks(range(matrix.shape[0]))
    axis.set_yticklabels([_label(name) for name in matrix.index], fontsize=8)
    name = "Spearman's rho" if method == "spearman" else "Pearson's r"
    axis.set_title(f"Value x harm correlations ({name}); * p < .05, ** p < .01, *** p < .001, BH-adjusted",
                   fontsize=9)
    figure.colorbar(image, ax=axis, shrink=0.7)
    return _save(figure, path)


def _draw_node(axis: plt.Axes, x: float, y: float, name: str, latent: bool) -> None:
    if latent:
        axis.add_patch(Ellipse((x, y), 1.5, 0.55, facecolor="#e8f0fb", edgecolor="black"))
    else:
        axis.add_patch(Rectangle((x - 0.75, y - 0.22), 1.5, 0.44, facecolor="white", edgecolor="black"))
    # Outcomes keep their "harm" prefix so "harm overall" does not read as a value.
    axis.text(x, y, textwrap.fill(name.removeprefix("raw_").replace("_", " "), 16), ha="center", va="center",
              fontsize=7)


def sem_path_diagram(outcome: SemOutcome, path: Path) -> Path:
    """Draw the fitted SEM with standardized (std.all) coefficients on its arrows.

    Indicators are on the left, latent variables in the middle and the
    regressed outcomes on the right. Solid arrows have p < .05, dashed ones do
    not. Covariances are left out of the drawing; the path table lists them.
    """
    parameters = outcome.parameters
    if outcome.result is None or parameters.empty:
        return placeholder(path, f"SEM {outcome.name}", f"Not fitted: {outcome.error}")
    loadings = parameters[parameters["op"] == "=~"]
    regressions = parameters[parameters["op"] == "~"]
    latents = list(dict.fromkeys(loadings["lhs"]))
    indicators = list(dict.fromkeys(loadings["rhs"]))
    outcomes = [name for name in dict.fromkeys(regressions["lhs"]) if name not in latents]
    height = max(len(indicators) * 0.6, len(latents) * 1.4, len(outcomes) * 1.4, 3.0)

    def column_positions(names: list[str]) -> dict[str, float]:
        step = height / max(len(names), 1)
        return {name: height - step * (index + 0.5) for index, name in enumerate(names)}

    x_indicator, x_latent, x_outcome = 0.0, 3.2, 6.8
    y_indicator, y_latent, y_outcome = column_positions(indicators), column_positions(latents), column_positions(outcomes)
    figure, axis = plt.subplots(figsize=(9.5, 0.9 + height * 0.9))
    std_column = "std.all" if "std.all" in parameters.columns else "est"

    def arrow(start: tuple[float, float], end: tuple[float, float], row: pd.Series, where: float) -> None:
        significant = not (pd.notna(row.get("pvalue")) and float(row["pvalue"]) >= 0.05)
        axis.add_patch(FancyArrowPatch(start, end, arrowstyle="-|>", mutation_scale=10, linewidth=1.0,
                                       linestyle="-" if significant else "--", color="black"))
        # Regression arrows cross in the middle, so their labels sit near the
        # arrowhead, where arrows into one outcome have already separated.
        point = (start[0] + where * (end[0] - start[0]), start[1] + where * (end[1] - start[1]))
        axis.text(*point, f"{float(row[std_column]):.2f}", fontsize=7, ha="center", va="center",
                  bbox={"facecolor": "white", "edgecolor": "none", "pad": 0.5})

    for _, row in loadings.iterrows():
        arrow((x_latent - 0.75, y_latent[row["lhs"]]), (x_indicator + 0.75, y_indicator[row["rhs"]]), row, 0.55)
    incoming = regressions["lhs"].value_counts()
    for _, row in regressions.iterrows():
        if row["rhs"] in y_latent and row["lhs"] in y_outcome:
            # Labels of three or more arrows into one box crowd near its edge.
            where = 0.8 if incoming[row["lhs"]] <= 2 else 0.6
            arrow((x_latent + 0.75, y_latent[row["rhs"]]), (x_outcome - 0.75, y_outcome[row["lhs"]]), row, where)
    for name, y in y_indicator.items():
        _draw_node(axis, x_indicator, y, name, latent=False)
    for name, y in y_latent.items():
        _draw_node(axis, x_latent, y, name, latent=True)
    for name, y in y_outcome.items():
        _draw_node(axis, x_outcome, y, name, latent=False)
    fit = outcome.fit_measures
    fit_line = ", ".join(f"{key.upper()} = {fit[key]:.3f}" for key in ("cfi", "tli", "rmsea", "srmr")
                         if isinstance(fit.get(key), (int, float)) and not math.isnan(fit[key]))
    title = f"SEM {outcome.name}: standardized coefficients (std.all), N = {outcome.n}\n{fit_line}"
    unreliable = [text.split(":")[0] for text in outcome.warnings
                  if text.startswith(("ConvergenceWarning", "HeywoodWarning", "IdentificationWarning",
                                      "NotPositiveDefiniteWarning"))]
    if unreliable:
        title += f"\nWARNING: estimates unreliable ({', '.join(dict.fromkeys(unreliable))}); see the diagnostics"
    axis.set_title(title, fontsize=9, color="darkred" if unreliable else "black")
    axis.set_xlim(-1.0, 7.8)
    axis.set_ylim(-0.2, height + 0.2)
    axis.axis("off")
    return _save(figure, path)


def harm_rates(result: AnalysisResult, path: Path) -> Path:
    """Draw the mean harm rate per category, by safety condition and by value condition.

    The harm rate is the share of a respondent's answers that the judge rated
    harmful (``harmrate_<category>``); tables without it show the mean 1-5
    harm score instead.
    """
    table = result.respondents
    prefix = "harmrate_" if any(column.startswith("harmrate_") for column in table.columns) else "harm_"
    categories = [category for category in result.categories if f"{prefix}{category}" in table.columns]
    columns = [f"{prefix}{category}" for category in categories]
    if not columns:
        return placeholder(path, "Harm rates", "The respondent table has no harm columns.")
    panels: list[tuple[str, pd.DataFrame]] = []
    if "safety_condition" in table.columns:
        order = list(pd.unique(table["safety_condition"].dropna()))
        if result.reference_safety in order:
            order.remove(result.reference_safety)
            order.insert(0, result.reference_safety)
        panels.append(("safety condition", table.groupby("safety_condition")[columns].mean().loc[order]))
    by_profile = result.population.groupby(value_conditions(result.population))[columns].mean()
    title = "value condition"
    if result.reference_safety is not None:
        title += f", safety condition {result.reference_safety!r}"
    panels.append((title, by_profile.iloc[:30]))
    heights = [max(1.6, 0.32 * len(frame) + 1.0) for _, frame in panels]
    figure, axes = plt.subplots(len(panels), 1, figsize=(1.5 + 0.7 * len(columns), sum(heights) + 1.2),
                                gridspec_kw={"height_ratios": heights}, squeeze=False)
    upper = 1.0 if prefix == "harmrate_" else 5.0
    lower = 0.0 if prefix == "harmrate_" else 1.0
    for axis, (title, frame) in zip(axes[:, 0], panels, strict=True):
        image = axis.imshow(frame.to_numpy(dtype=float), cmap="Reds", vmin=lower, vmax=upper, aspect="auto")
        for row in range(frame.shape[0]):
            for column in range(frame.shape[1]):
                value = frame.iat[row, column]
                axis.text(column, row, "" if math.isnan(value) else f"{value:.2f}", ha="center", va="center",
                          fontsize=6.5, color="white" if value > lower + 0.6 * (upper - lower) else "black")
        axis.set_yticks(range(frame.shape[0]))
        axis.set_yticklabels([str(name) for name in frame.index], fontsize=7)
        axis.set_xticks(range(len(categories)))
        axis.set_xticklabels([_label(category) for category in categories], rotation=40, ha="right", fontsize=8)
        axis.set_title(f"By {textwrap.shorten(title, 90)}", fontsize=9)
        figure.colorbar(image, ax=axis, shrink=0.8)
    measure = "harm rate (share of harmful answers)" if prefix == "harmrate_" else "harm score (1-5)"
    figure.suptitle(f"Mean {measure} per category", fontsize=11)
    figure.tight_layout()
    return _save(figure, path)
