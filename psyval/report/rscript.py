"""Generate ``reproduce.R``: the same correlations and SEMs in base R and lavaan.

The script reads the report's ``respondents.csv``, selects the same rows,
derives the same higher-order scores, and writes ``r_correlations.csv``,
``r_sem_<model>.csv`` and ``r_fit_<model>.csv`` next to psyval's
``correlations.csv``, ``sem_<model>.csv`` and ``fit_<model>.csv`` so a
reviewer (and psyval's tests) can compare them value by value.
"""

from __future__ import annotations

from psyval import __version__
from psyval.analysis import AnalysisResult
from psyval.analysis.values import HIGHER_ORDER, REFINED_TO_BASIC

FIT_MEASURES: tuple[str, ...] = (
    "chisq", "df", "pvalue", "cfi", "tli", "rmsea", "rmsea.ci.lower", "rmsea.ci.upper", "srmr",
)


def r_string(text: str) -> str:
    """Quote ``text`` as an R string literal."""
    escaped = text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n").replace("\r", "\\r")
    return f'"{escaped}"'


def r_vector(items: list[str]) -> str:
    """Return an R character vector ``c("a", "b")``."""
    return "c(" + ", ".join(r_string(item) for item in items) + ")"


def derived_columns(result: AnalysisResult, original: list[str]) -> list[tuple[str, list[str]]]:
    """Return (column, source columns) for each score psyval derived, in derivation order."""
    present = set(original)
    derived: list[tuple[str, list[str]]] = []
    for prefix in ("value_", "raw_"):
        for basic, refined in REFINED_TO_BASIC.items():
            column = f"{prefix}{basic}"
            sources = [f"{prefix}{value}" for value in refined]
            if column in result.respondents.columns and column not in present and len(refined) > 1:
                derived.append((column, sources))
                present.add(column)
        for higher, basics in HIGHER_ORDER.items():
            column = f"{prefix}{higher}"
            if column in result.respondents.columns and column not in present:
                sources = [f"{prefix}{value}" for value in basics if f"{prefix}{value}" in present]
                derived.append((column, sources))
                present.add(column)
    return derived


def reproduce_script(result: AnalysisResult, original_columns: list[str]) -> str:
    """Return the text of ``reproduce.R`` for ``result``.

    Parameters
    ----------
    result
        The analysis the report shows.
    original_columns
        Columns of the respondents.csv written next to the script; scores
        psyval derived beyond these are derived again in R.
    """
    xs = sorted(set(result.correlations["x"]), key=list(result.correlations["x"]).index)
    ys = sorted(set(result.correlations["y"]), key=list(result.correlations["y"]).index)
    lines = [
        "# Reproduce psyval's value-harm correlations and SEMs with base R and lavaan.",
        f"# Written by psyval {__version__}. Run it from the report folder: Rscript reproduce.R",
        "# It writes r_correlations.csv, r_sem_<model>.csv and r_fit_<model>.csv, which",
        "# correspond to psyval's correlations.csv, sem_<model>.csv and fit_<model>.csv.",
        "suppressPackageStartupMessages(library(lavaan))",
        "",
        'respondents <- read.csv("respondents.csv", stringsAsFactors = FALSE, check.names = FALSE)',
    ]
    if result.reference_safety is not None:
        lines += [
            "# Value-harm statistics use the reference safety condition only.",
            f"d <- respondents[respondents$safety_condition == {r_string(result.reference_safety)}, ]",
        ]
    else:
        lines.append("d <- respondents")
    derived = derived_columns(result, original_columns)
    if derived:
        lines.append("# Scores psyval derives: means of their component value scores.")
    for column, sources in derived:
        lines.append(f"d[[{r_string(column)}]] <- rowMeans(d[, {r_vector(sources)}, drop = FALSE])")
    lines += [
        "",
        f"xs <- {r_vector(xs)}",
        f"ys <- {r_vector(ys)}",
        "correlate <- function(x, y, method) {",
        "  ok <- complete.cases(x, y)",
        "  n <- sum(ok)",
        "  if (n < 3 || sd(x[ok]) == 0 || sd(y[ok]) == 0) return(c(n, NA, NA))",
        "  test <- suppressWarnings(cor.test(x[ok], y[ok], method = method, exact = FALSE))",
        "  c(n, unname(test$estimate), test$p.value)",
        "}",
        "blocks <- list()",
        'for (method in c("pearson", "spearman")) {',
        "  grid <- expand.grid(y = ys, x = xs, stringsAsFactors = FALSE)[, c(\"x\", \"y\")]",
        "  stats <- t(mapply(function(x, y) correlate(d[[x]], d[[y]], method), grid$x, grid$y))",
        "  block <- data.frame(method = method, x = grid$x, y = grid$y, n = stats[, 1], r = stats[, 2],",
        "                      p = stats[, 3], stringsAsFactors = FALSE)",
        '  block$p_holm <- p.adjust(block$p, "holm")',
        '  block$p_bh <- p.adjust(block$p, "BH")',
        "  blocks[[method]] <- block",
        "}",
        'write.csv(do.call(rbind, blocks), "r_correlations.csv", row.names = FALSE)',
        "",
        f"fit_names <- {r_vector(list(FIT_MEASURES))}",
        "fit_model <- function(name, model) {",
        '  fit <- sem(model, data = d, estimator = "ML", missing = "listwise")',
        "  estimates <- parameterEstimates(fit)",
        '  standardized <- standardizedSolution(fit)[, c("lhs", "op", "rhs", "est.std")]',
        '  table <- merge(estimates, standardized, by = c("lhs", "op", "rhs"), sort = FALSE)',
        '  names(table)[names(table) == "est.std"] <- "std.all"',
        '  write.csv(table, paste0("r_sem_", name, ".csv"), row.names = FALSE)',
        "  measures <- fitMeasures(fit, fit_names)",
        "  write.csv(data.frame(measure = names(measures), value = unname(measures)),",
        '            paste0("r_fit_", name, ".csv"), row.names = FALSE)',
        '  cat("\\n==== ", name, " ====\\n", sep = "")',
        "  print(summary(fit, fit.measures = TRUE, standardized = TRUE))",
        "}",
    ]
    for outcome in result.sem:
        if outcome.result is None:
            lines.append(f"# {outcome.name}: not fitted by psyval ({outcome.error}), so not fitted here.")
            continue
        # One model that lavaan rejects must not stop the others.
        lines.append(
            f"tryCatch(fit_model({r_string(outcome.name)}, {r_string(outcome.syntax)}), "
            f'error = function(e) message("model {outcome.name} failed in lavaan: ", conditionMessage(e)))'
        )
    return "\n".join(lines) + "\n"
