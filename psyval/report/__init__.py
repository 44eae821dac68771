"""The study report: figures, APA tables, HTML and Markdown, and a reproduce.R script.

:func:`write_report` reads a results folder (``respondents.csv`` and the
manifest files, optionally ``probe_responses.csv``), runs
:func:`psyval.analysis.analyze`, and writes into the report folder::

    report.html, report.md        the report
    figures/*.png                 the figures both pages link
    respondents.csv               the respondent table the analyses used
    correlations.csv, verdicts.csv, safety.csv, descriptives.csv
    sem_<model>.csv, fit_<model>.csv, sem_<model>.txt
    reproduce.R                   the same correlations and SEMs in R
"""

from __future__ import annotations

import logging
import math
import warnings
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pandas as pd

from psyval import __version__
from psyval.analysis import AnalysisResult, analyze
from psyval.errors import PsyvalError, PsyvalWarning
from psyval.report import figures, tables
from psyval.report.examples import example_responses
from psyval.report.loading import keyed_items, read_results
from psyval.report.provenance import environment_table, files_table, manifest_table
from psyval.report.render import Figure, Section, render_html, render_markdown
from psyval.report.rscript import FIT_MEASURES, reproduce_script

logger = logging.getLogger(__name__)


def _write_tables(result: AnalysisResult, out: Path) -> list[Path]:
    written = []
    for name, frame in (("correlations", result.correlations), ("verdicts", result.verdicts),
                        ("safety", result.safety), ("descriptives", result.descriptives)):
        path = out / f"{name}.csv"
        frame.to_csv(path, index=False)
        written.append(path)
    for outcome in result.sem:
        summary = out / f"sem_{outcome.name}.txt"
        summary.write_text(outcome.summary_text() + "\n", encoding="utf-8")
        written.append(summary)
        if outcome.result is None:
            continue
        outcome.parameters.to_csv(out / f"sem_{outcome.name}.csv", index=False)
        fit = outcome.fit_measures
        pd.DataFrame({"measure": list(FIT_MEASURES), "value": [fit.get(key, math.nan) for key in FIT_MEASURES]}).to_csv(
            out / f"fit_{outcome.name}.csv", index=False
        )
        written += [out / f"sem_{outcome.name}.csv", out / f"fit_{outcome.name}.csv"]
    return written


def _hypothesis_sources(result: AnalysisResult) -> list[tuple[str, str]]:
    seen: dict[str, str] = {}
    for hypothesis in result.hypotheses.hypotheses:
        for source in hypothesis.sources:
            citation = " ".join(str(source.get("citation", "")).split())
            doi = str(source.get("doi", ""))
            if citation and citation not in seen:
                seen[citation] = f"https://doi.org/{doi}" if doi else ""
    return sorted(seen.items())


def _study_name(manifests: dict[str, dict[str, Any]]) -> str | None:
    """Return the study name that ``psyval run`` wrote into manifest.json, if any."""
    study = manifests.get("manifest.json", {}).get("study")
    name = study.get("name") if isinstance(study, dict) else None
    return name if isinstance(name, str) and name else None


def _sections(result: AnalysisResult, folder_name: str, figure_paths: dict[str, str], disparity: float,
              examples: list[tuple[str, str]], provenance: list[tuple[str, pd.DataFrame]],
              instrument_note: str) -> list[Section]:
    rule = result.hypotheses.rule
    counts = result.verdicts["verdict"].value_counts()
    verdict_line = ", ".join(f"{counts.get(name, 0)} {name}" for name in ("supported", "contradicted", "inconclusive"))
    hypotheses = Section("Hypotheses", "hypotheses", paragraphs=[
        f"Decision rule. {rule.describe()}",
        f"Result: {verdict_line} of {len(result.verdicts)} hypotheses. Rows analysed. {result.population_note}",
    ], tables=[("Table 1. Hypothesis verdicts", tables.verdicts(result))])
    hypotheses.links = [(citation, url) for citation, url in _hypothesis_sources(result)]
    rationale = pd.DataFrame([{"ID": h.id, "Rationale": h.rationale} for h in result.hypotheses.hypotheses])
    hypotheses.tables.append(("Table 2. Rationale of each hypothesis", rationale))

    safety = Section("Harm across safety conditions", "safety", figures=[
        Figure(figure_paths["harm_rates"], "Figure 1. Mean harm per category by safety condition and by value condition."),
    ])
    if result.safety.empty:
        safety.paragraphs.append("The study has one safety condition, so there is no paired comparison.")
    else:
        safety.paragraphs.append(
            "Each safety condition is compared with the reference on the same respondents (same model, value "
            "profile and replicate): mean paired difference (condition minus reference) with its 95% "
            "t interval, paired t test, Holm-adjusted p over all comparisons, Cohen's d_z and the Wilcoxon "
            "signed-rank test as a check that does not assume normal differences."
        )
        safety.tables.append(("Table 3. Paired comparison of harm with the reference safety condition",
                              tables.safety(result)))

    mds_caption = "Figure 3. Classical MDS of the value correlations, Procrustes-matched to the theoretical circle"
    mds_caption += f" (disparity {disparity:.3f}; 0 is a perfect match)." if not math.isnan(disparity) else "."
    values = Section("Value profiles", "values", paragraphs=[
        f"Scores are MRAT-centred: each value's raw mean minus the respondent's mean over all items. "
        f"{instrument_note}",
    ], figures=[
        Figure(figure_paths["profiles"], "Figure 2. Mean value profile of each condition in circumplex order; "
                                         "the dashed circle is the respondent's own mean (0)."),
        Figure(figure_paths["mds"], mds_caption),
    ], tables=[("Table 4. Descriptive statistics", tables.descriptives(result))])

    method = rule.method
    other = "pearson" if method == "spearman" else "spearman"
    correlations = Section("Value x harm correlations", "correlations", paragraphs=[
        "Stars mark Benjamini-Hochberg-adjusted p-values over all value x harm pairs of one coefficient: "
        "* p < .05, ** p < .01, *** p < .001. Holm-adjusted p-values are in correlations.csv.",
    ], figures=[Figure(figure_paths["heatmap"], f"Figure 4. Value x harm correlations ({method}).")],
        tables=[(f"Table 5. Value x harm correlations ({method})", tables.correlations(result, method)),
                (f"Table 6. Value x harm correlations ({other})", tables.correlations(result, other))])  # type: ignore[arg-type]

    sem = Section("Structural equation models", "sem", paragraphs=[
        "Each model in the analyses folder is fitted by maximum likelihood with psyval's SEM engine on the rows "
        "analysed. β is the completely standardized estimate (lavaan's std.all); the full lavaan-style summaries "
        "are in the appendix.",
    ], tables=[("Table 7. Fit indices", tables.fit_indices(result.sem))])
    for index, outcome in enumerate(result.sem):
        sem.figures.append(Figure(figure_paths[f"sem_{outcome.name}"],
                                  f"Figure {5 + index}. Path diagram of {outcome.name} (std.all)."))
        paths = tables.path_coefficients(outcome)
        if not paths.empty:
            sem.tables.append((f"Table {8 + index}. Path coefficients of {outcome.name}", paths))

    sections = [hypotheses, safety, values, correlations, sem]
    if examples:
        sections.append(Section("Example answers", "examples", paragraphs=[
            "Model answers are shown verbatim as untrusted text, the most harmful one per category first.",
        ], quotes=examples))
    sections.append(Section("Reproducibility", "reproducibility", paragraphs=[
        f"Run `Rscript reproduce.R` in {folder_name}/ to fit the same correlations and SEMs with base R and "
        f"lavaan on respondents.csv; it writes r_correlations.csv, r_sem_<model>.csv and r_fit_<model>.csv "
        f"for comparison with correlations.csv, sem_<model>.csv and fit_<model>.csv.",
    ], tables=provenance))
    sections.append(Section("Appendix: SEM summaries", "appendix",
                            preformatted=[(outcome.name, outcome.summary_text()) for outcome in result.sem]))
    return sections


def _check_analyses_dir(analyses_dir: Path, hypotheses_path: str | Path | None) -> None:
    """Reject an explicit analyses folder that contains no SEM file and no hypotheses.

    Falling back to the bundled analyses would report models the user did not
    choose, so only a missing hypotheses.yaml next to .lav files falls back,
    and it is logged.
    """
    if analyses_dir.is_file():
        raise PsyvalError(
            f"analyses folder {str(analyses_dir)!r} is a file, not a folder; pass a folder of .lav files "
            "and hypotheses.yaml, or pass a hypotheses file with --hypotheses"
        )
    if not analyses_dir.is_dir():
        raise PsyvalError(f"analyses folder {str(analyses_dir)!r} not found; pass a folder of .lav files")
    has_sem = any(analyses_dir.glob("*.lav"))
    has_hypotheses = hypotheses_path is not None or (analyses_dir / "hypotheses.yaml").is_file()
    if not has_sem and not has_hypotheses:
        raise PsyvalError(
            f"analyses folder {str(analyses_dir)!r} contains no .lav SEM files and no hypotheses.yaml; "
            "add them, or leave out --analyses to use the bundled analyses"
        )
    if not has_hypotheses:
        logger.warning("analyses folder %r has no hypotheses.yaml; using the bundled hypotheses", str(analyses_dir))


def _check_report_dir(out: Path) -> None:
    """Reject a report folder that is, or lies below, an existing file, before any analysis runs."""
    for folder in (out, *out.parents):
        if not folder.exists():
            continue
        if not folder.is_dir():
            problem = "is an existing file" if folder == out else f"cannot be created because {str(folder)!r} is a file"
            raise PsyvalError(f"report folder {str(out)!r} {problem}; pass a folder path to --out")
        return


def write_report(
    results_dir: str | Path,
    out_dir: str | Path | None = None,
    analyses_dir: str | Path | None = None,
    hypotheses_path: str | Path | None = None,
) -> dict[str, Path]:
    """Analyse a results folder and write the report.

    Parameters
    ----------
    results_dir
        Folder with ``respondents.csv`` and manifest files (``psyval run --out``).
    out_dir
        Report folder; ``<results_dir>/report`` by default. It must not be an existing file.
    analyses_dir, hypotheses_path
        SEM files and hypotheses; by default ``<results_dir>/analyses`` or
        ``<results_dir>/analysis/models`` when one exists, else the bundled
        ``analyses/``. An explicit ``analyses_dir`` must contain ``.lav``
        files or ``hypotheses.yaml``, and its ``.lav`` files must parse and
        name only latent variables and respondent-table columns. Without
        ``hypotheses.yaml`` and ``hypotheses_path``, the bundled hypotheses
        are used and a warning is logged.

    Returns
    -------
    dict
        ``html``, ``markdown``, ``respondents``, ``reproduce_r`` and one
        ``figure:<name>`` entry per figure, each a path.
    """
    # Model files the user names are checked strictly. The bundled or copied
    # defaults may name columns a small study lacks, which only warns.
    check_models = analyses_dir is not None
    if analyses_dir is not None:
        _check_analyses_dir(Path(analyses_dir), hypotheses_path)
    inputs = read_results(results_dir)
    out = Path(out_dir) if out_dir is not None else inputs.path / "report"
    _check_report_dir(out)
    figure_dir = out / "figures"
    if analyses_dir is None:
        # `psyval run` copies the study's SEM files and hypotheses to analysis/models.
        for candidate in (inputs.path / "analyses", inputs.path / "analysis" / "models"):
            if candidate.is_dir():
                analyses_dir = candidate
                break

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        result = analyze(keyed_items(inputs.respondents, inputs.reversed_items), analyses_dir, hypotheses_path,
                         item_values=inputs.item_values, check_models=check_models)
    for warning in caught:
        warnings.warn_explicit(warning.message, warning.category, warning.filename, warning.lineno)

    # Created only now, so that invalid inputs leave no half-written report folder.
    figure_dir.mkdir(parents=True, exist_ok=True)
    paths: dict[str, Path] = {}
    respondents_path = out / "respondents.csv"
    inputs.respondents.to_csv(respondents_path, index=False)
    paths["respondents"] = respondents_path
    _write_tables(result, out)

    figure_paths: dict[str, str] = {}

    def add(name: str, path: Path) -> None:
        paths[f"figure:{name}"] = path
        figure_paths[name] = path.relative_to(out).as_posix()

    add("profiles", figures.value_profiles(result, figure_dir / "value_profiles.png"))
    mds_path, disparity = figures.mds_circle(result, figure_dir / "value_mds.png")
    add("mds", mds_path)
    add("heatmap", figures.value_harm_heatmap(result, figure_dir / "value_harm_heatmap.png", result.hypotheses.rule.method))
    add("harm_rates", figures.harm_rates(result, figure_dir / "harm_rates.png"))
    for outcome in result.sem:
        add(f"sem_{outcome.name}", figures.sem_path_diagram(outcome, figure_dir / f"sem_{outcome.name}.png"))

    script = out / "reproduce.R"
    script.write_text(reproduce_script(result, list(inputs.respondents.columns)), encoding="utf-8")
    paths["reproduce_r"] = script

    provenance: list[tuple[str, pd.DataFrame]] = []
    for name, manifest in inputs.manifests.items():
        provenance.append((f"Manifest {name}", manifest_table(manifest)))
    if not inputs.manifests:
        provenance.append(("Manifests", pd.DataFrame({"Note": ["The results folder has no manifest files."]})))
    provenance.append(("Software", environment_table()))
    provenance.append(("Files", files_table(out, ["respondents.csv", "reproduce.R"])))
    messages = list(dict.fromkeys(f"{w.category.__name__}: {w.message}" for w in caught
                                  if issubclass(w.category, PsyvalWarning)))
    if messages:
        provenance.append(("Warnings raised during the analysis", pd.DataFrame({"Warning": messages})))

    sections = _sections(result, out.name, figure_paths, disparity, example_responses(inputs.probe_responses),
                         provenance, inputs.instrument_note)
    models = ", ".join(sorted(str(model) for model in inputs.respondents.get("model", pd.Series(dtype=str)).dropna().unique()))
    title = f"psyval study report: {_study_name(inputs.manifests) or inputs.path.name}"
    subtitle = (f"{len(inputs.respondents)} respondent rows; models: {models or 'not recorded'}; generated "
                f"{datetime.now(timezone.utc).strftime('%Y-%m-%d %H:%M UTC')} by psyval {__version__}.")
    paths["html"] = out / "report.html"
    paths["html"].write_text(render_html(title, subtitle, sections), encoding="utf-8")
    paths["markdown"] = out / "report.md"
    paths["markdown"].write_text(render_markdown(title, subtitle, sections), encoding="utf-8")
    logger.info("report written to %s", paths["html"])
    return paths


__all__ = ["write_report"]
