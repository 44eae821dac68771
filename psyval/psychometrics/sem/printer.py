"""Print a :class:`SemResult` as lavaan's ``summary(fit, fit.measures = TRUE,
standardized = TRUE)`` does, or as JSON or CSV.

The text layout follows lavaan 0.6.14: 54-character statistic lines, a name
column of 18 characters and value columns of 9, three decimals, and a leading
dot on the names of residual terms.
"""

from __future__ import annotations

import json
import math
import textwrap

import pandas as pd

from psyval.psychometrics.sem.result import SemResult

_WIDTH = 54
_HEADER = "                   Estimate  Std.Err  z-value  P(>|z|)   Std.lv  Std.all"


def _number(value: float, digits: int = 3) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    if math.isinf(value):
        return "Inf" if value > 0 else "-Inf"  # R's spelling, as lavaan prints it
    return f"{value:.{digits}f}"


def _line(label: str, value: str, scaled: str | None = None) -> str:
    text = f"  {label}"
    text += value.rjust(_WIDTH - len(text))
    if scaled is not None:
        text += scaled.rjust(12)
    return text


def _count(value: float) -> str:
    return str(int(round(value)))


def _header(result: SemResult) -> list[str]:
    info = result.info
    # lavaan writes "1 iteration" in the singular.
    steps = f"{info['iterations']} iteration" + ("" if info["iterations"] == 1 else "s")
    unidentified = [d for d in result.diagnostics if d.code in ("underidentified", "unscaled_latent",
                                                                "singular_information")]
    if not info["converged"]:
        first = f"** WARNING ** psyval {info['psyval_version']} did NOT end normally after {steps}"
    elif unidentified:
        first = f"** WARNING ** psyval {info['psyval_version']} stopped after {steps}"
    else:
        first = f"psyval {info['psyval_version']} ended normally after {steps}"
    lines = [first, ""]
    if not info["converged"]:
        lines += ["** WARNING ** Estimates below are most likely unreliable", ""]
    badly_scaled = any(d.code == "variance_ratio" for d in result.diagnostics)
    if unidentified and badly_scaled and all(d.code == "singular_information" for d in unidentified):
        # A singular information matrix can come from variances that differ
        # by many orders of magnitude rather than from the model, so the
        # headline names both causes instead of declaring the model unidentified.
        lines += ["** WARNING ** The information matrix is singular: the model may not be identified,",
                  "** WARNING ** or the observed variances differ too much (rescale them; see Diagnostics)", ""]
    elif unidentified:
        lines += ["** WARNING ** The model is NOT identified: the estimates, standard errors and fit",
                  "** WARNING ** measures below are meaningless (see Diagnostics at the end)", ""]
    lines += [
        _line("Estimator", "ML"),
        _line("Optimization method", str(info["optimizer"])),
        _line("Number of model parameters", str(info.get("n_parameters", info["npar"]))),
    ]
    if info.get("n_equality_constraints"):
        lines.append(_line("Number of equality constraints", str(info["n_equality_constraints"])))
    lines.append("")
    if info["n_used"] != info["n_total"]:
        lines.append(" " * (_WIDTH - 4) + "Used" + "Total".rjust(12))
        lines.append(_line("Number of observations", str(info["n_used"]), str(info["n_total"])))
    else:
        lines.append(_line("Number of observations", str(info["n_used"])))
    if info.get("n_patterns"):
        lines.append(_line("Number of missing patterns", str(info["n_patterns"])))
    lines.append("")
    return lines


def _fit_section(result: SemResult) -> list[str]:
    fm = result.fit_measures
    robust = "chisq.scaled" in fm

    def cell(key: str | None, kind: str) -> str:
        if key is None or key not in fm:
            return ""
        value = fm[key]
        if isinstance(value, float) and math.isnan(value):
            return "NA"
        return _count(value) if kind == "int" else _number(value)

    def row(label: str, key: str, kind: str = "num", scaled_key: str | None = None) -> str:
        return _line(label, cell(key, kind), cell(scaled_key, kind) if robust else None)

    def robust_rows(*labels_and_keys: tuple[str, str]) -> list[str]:
        # lavaan 0.6.14 prints robust indices in the scaled column only, after a blank
        # line as wide as both columns.
        return [" " * (_WIDTH + 12)] + [row(label, "__none__", scaled_key=key) for label, key in labels_and_keys]

    def mlr_scaling_rows(key: str) -> list[str]:
        return [row("Scaling correction factor", "__none__", scaled_key=key), "      for the MLR correction"]

    # lavaan 0.6.14 leaves out the p-value and the scaling factors of the
    # user model when df = 0, because a saturated model has neither.
    saturated = fm.get("df") == 0

    blank_columns = " " * _WIDTH if not robust else _line("", "Standard", "Scaled")
    lines = ["Model Test User Model:", blank_columns]
    lines += [
        # lavaan 0.6.14 capitalises this label only in the two-column layout.
        row("Test Statistic" if robust else "Test statistic", "chisq", scaled_key="chisq.scaled"),
        row("Degrees of freedom", "df", "int", scaled_key="df"),
    ]
    if not saturated:
        lines.append(row("P-value (Chi-square)", "pvalue", scaled_key="pvalue.scaled"))
    if robust and not saturated:
        lines += [row("Scaling correction factor", "__none__", scaled_key="chisq.scaling.factor"),
                  "    Yuan-Bentler correction (Mplus variant)"]
    lines += ["", "Model Test Baseline Model:", ""]
    lines += [
        row("Test statistic", "baseline.chisq", scaled_key="baseline.chisq.scaled"),
        row("Degrees of freedom", "baseline.df", "int", scaled_key="baseline.df"),
        row("P-value", "baseline.pvalue", scaled_key="baseline.pvalue.scaled"),
    ]
    if robust:
        lines.append(row("Scaling correction factor", "__none__", scaled_key="baseline.chisq.scaling.factor"))
    lines += ["", "User Model versus Baseline Model:", ""]
    lines += [
        row("Comparative Fit Index (CFI)", "cfi", scaled_key="cfi.scaled"),
        row("Tucker-Lewis Index (TLI)", "tli", scaled_key="tli.scaled"),
    ]
    if "cfi.robust" in fm:
        lines += robust_rows(
            ("Robust Comparative Fit Index (CFI)", "cfi.robust"),
            ("Robust Tucker-Lewis Index (TLI)", "tli.robust"),
        )
    lines += [
        "",
        "Loglikelihood and Information Criteria:",
        "",
        row("Loglikelihood user model (H0)", "logl", scaled_key="logl"),
    ]
    if robust and not saturated:
        lines += mlr_scaling_rows("scaling.factor.h0")
    lines.append(row("Loglikelihood unrestricted model (H1)", "unrestricted.logl", scaled_key="unrestricted.logl"))
    if robust and not saturated:
        lines += mlr_scaling_rows("scaling.factor.h1")
    lines += [
        " " * _WIDTH if not robust else " " * (_WIDTH + 12),
        row("Akaike (AIC)", "aic", scaled_key="aic"),
        row("Bayesian (BIC)", "bic", scaled_key="bic"),
        row("Sample-size adjusted Bayesian (SABIC)", "bic2", scaled_key="bic2"),
        "",
        "Root Mean Square Error of Approximation:",
        "",
        row("RMSEA", "rmsea", scaled_key="rmsea.scaled"),
        row("90 Percent confidence interval - lower", "rmsea.ci.lower", scaled_key="rmsea.ci.lower.scaled"),
        row("90 Percent confidence interval - upper", "rmsea.ci.upper", scaled_key="rmsea.ci.upper.scaled"),
        row("P-value H_0: RMSEA <= 0.050", "rmsea.pvalue", scaled_key="rmsea.pvalue.scaled"),
        row("P-value H_0: RMSEA >= 0.080", "rmsea.notclose.pvalue", scaled_key="rmsea.notclose.pvalue.scaled"),
    ]
    if "rmsea.robust" in fm:
        lines += robust_rows(
            ("Robust RMSEA", "rmsea.robust"),
            ("90 Percent confidence interval - lower", "rmsea.ci.lower.robust"),
            ("90 Percent confidence interval - upper", "rmsea.ci.upper.robust"),
            ("P-value H_0: Robust RMSEA <= 0.050", "rmsea.pvalue.robust"),
            ("P-value H_0: Robust RMSEA >= 0.080", "rmsea.notclose.pvalue.robust"),
        )
    lines += [
        "",
        "Standardized Root Mean Square Residual:",
        "",
        row("SRMR", "srmr", scaled_key="srmr"),
        "",
    ]
    return lines


def _name(name: str, residual: bool, indent: int) -> str:
    if residual:
        return " " * (indent - 1) + "." + name
    return " " * indent + name


def _name_cell(name: str, row: pd.Series) -> str:
    """Return the 18-character name column, with a user label right-aligned as lavaan prints it."""
    label = row.get("label") or ""
    if not label:
        return name.ljust(18)
    tag = f"({label})"
    return name.ljust(18 - len(tag)) + tag if len(name) + len(tag) < 18 else f"{name} {tag}"


def _values(row: pd.Series) -> str:
    free = not (row["se"] == 0 and (row["z"] is None or math.isnan(row["z"])))
    cells = [_number(row["est"])]
    if free:
        cells += [_number(row["se"]), _number(row["z"]), _number(row["pvalue"])]
    else:
        cells += ["", "", ""]
    cells += [_number(row["std.lv"]), _number(row["std.all"])]
    return "".join(cell.rjust(9) for cell in cells)


def _parameter_sections(result: SemResult) -> list[str]:
    table = result.parameters[result.parameters["exo"] == 0]
    endogenous = set(result.endogenous)
    lines = ["Parameter Estimates:", ""]
    for label, value in result.info["standard_errors"]:
        lines.append(_line(label, value))
    lines.append("")
    full = len(_HEADER)

    def grouped(title: str, rows: pd.DataFrame, op: str, mark: bool) -> None:
        if rows.empty:
            return
        lines.extend([f"{title}:", _HEADER])
        current = None
        for _, row in rows.iterrows():
            if row["lhs"] != current:
                current = row["lhs"]
                residual = mark and current in endogenous
                lines.append(f"{_name(current, residual, 2)} {op}".ljust(full))
            residual = mark and row["rhs"] in endogenous
            lines.append(_name_cell(_name(row["rhs"], residual, 4), row) + _values(row))
        lines.append("")

    def single(title: str, rows: pd.DataFrame) -> None:
        if rows.empty:
            return
        lines.extend([f"{title}:", _HEADER])
        for _, row in rows.iterrows():
            lines.append(_name_cell(_name(row["lhs"], row["lhs"] in endogenous, 4), row) + _values(row))
        lines.append("")

    grouped("Latent Variables", table[table["op"] == "=~"], "=~", mark=False)
    grouped("Regressions", table[table["op"] == "~"], "~", mark=False)
    covariances = table[(table["op"] == "~~") & (table["lhs"] != table["rhs"])]
    grouped("Covariances", covariances, "~~", mark=True)
    single("Intercepts", table[table["op"] == "~1"])
    variances = table[(table["op"] == "~~") & (table["lhs"] == table["rhs"])]
    order = {name: i for i, name in enumerate(result.observed + result.latent)}
    variances = variances.assign(_order=variances["lhs"].map(order)).sort_values("_order", kind="stable")
    single("Variances", variances)
    defined = table[table["op"] == ":="]
    if not defined.empty:
        lines.extend(["Defined Parameters:", _HEADER])
        for _, row in defined.iterrows():
            lines.append(f"    {row['lhs']}".ljust(18) + _values(row))
        lines.append("")
    return lines


def _footer(result: SemResult) -> list[str]:
    lines = []
    problems = [d for d in result.diagnostics if d.severity != "info"]
    if problems:
        lines.append("Diagnostics:")
        for diagnostic in problems:
            lines += textwrap.wrap(diagnostic.message, width=_WIDTH + 18, initial_indent=f"  [{diagnostic.severity}] ",
                                   subsequent_indent="    ")
        lines.append("")
    notes = list(result.notes)
    if result.info["n_dropped"]:
        if result.info.get("missing") == "fiml":
            dropped = f"FIML left out {result.info['n_dropped']} of {result.info['n_total']} rows in which every " \
                      "model variable is missing."
        else:
            dropped = f"Listwise deletion dropped {result.info['n_dropped']} of {result.info['n_total']} rows."
        notes.insert(0, dropped)
    if notes:
        lines.append("Notes (psyval):")
        for note in notes:
            lines += textwrap.wrap(note, width=_WIDTH + 18, initial_indent="  - ", subsequent_indent="    ")
    return lines


def format_text(result: SemResult) -> str:
    """Return the lavaan-style summary report."""
    # lavaan 0.6 prints no test section for a model that did not converge.
    fit = _fit_section(result) if result.info["converged"] else []
    lines = _header(result) + fit + _parameter_sections(result) + _footer(result)
    return "\n".join(lines).rstrip() + "\n"


def _clean(value: object) -> object:
    if isinstance(value, float) and (math.isnan(value) or math.isinf(value)):
        return None
    return value


def format_json(result: SemResult) -> str:
    """Return the result as JSON: info, fit measures, parameters, diagnostics, notes."""
    parameters = [
        {key: _clean(value) for key, value in record.items()}
        for record in result.parameters.to_dict(orient="records")
    ]
    document = {
        "info": {key: value for key, value in result.info.items()},
        "fit_measures": {key: _clean(value) for key, value in result.fit_measures.items()},
        "parameters": parameters,
        "diagnostics": [d.as_dict() for d in result.diagnostics],
        "notes": result.notes,
    }
    return json.dumps(document, indent=2, default=str) + "\n"


def format_csv(result: SemResult) -> str:
    """Return the parameter table as CSV with lavaan's column names."""
    return result.parameters.to_csv(index=False)
