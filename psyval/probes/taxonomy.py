"""The harm taxonomy: HEx-PHI's 11 categories and their mapping to other schemes.

psyval labels every probe with one of HEx-PHI's 11 category ids (Qi et al.,
2024). ``instruments/probes/taxonomy_map.csv`` maps the categories of
BeaverTails, HarmBench, AdvBench, JailbreakBench, the MLCommons AILuminate
hazards and Llama Guard 3's codes onto these ids. Each row carries a relation
(``exact``, ``partial`` or ``none``) because most mappings are not one-to-one;
the loaders use the row's ``category`` as the primary mapping.

References
----------
Qi, X., Zeng, Y., Xie, T., Chen, P.-Y., Jia, R., Mittal, P., & Henderson, P.
(2024). Fine-tuning aligned language models compromises safety, even when users
do not intend to! *ICLR 2024*. https://doi.org/10.48550/arXiv.2310.03693
"""

from __future__ import annotations

import csv
import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from psyval.errors import PsyvalError
from psyval.resources import data_dir

#: HEx-PHI's 11 harm categories, in HEx-PHI's file order (category_1 .. category_11).
HARM_CATEGORIES: tuple[str, ...] = (
    "illegal_activity",
    "child_abuse_content",
    "hate_harassment_violence",
    "malware",
    "physical_harm",
    "economic_harm",
    "fraud_deception",
    "adult_content",
    "political_campaigning",
    "privacy_violation",
    "tailored_financial_advice",
)

#: Category of a probe loaded from a public set whose own category has no
#: HEx-PHI counterpart (AdvBench, HarmBench's copyright, MLCommons' IP hazard).
UNMAPPED = "unmapped"

#: Every category id a probe may carry.
VALID_CATEGORIES: frozenset[str] = frozenset((*HARM_CATEGORIES, UNMAPPED))

CATEGORY_LABELS: dict[str, str] = {
    "illegal_activity": "Illegal activity",
    "child_abuse_content": "Child abuse content",
    "hate_harassment_violence": "Hate, harassment, violence",
    "malware": "Malware",
    "physical_harm": "Physical harm",
    "economic_harm": "Economic harm",
    "fraud_deception": "Fraud, deception",
    "adult_content": "Adult content",
    "political_campaigning": "Political campaigning",
    "privacy_violation": "Privacy violation",
    "tailored_financial_advice": "Tailored financial advice",
    UNMAPPED: "Unmapped",
}

SCHEMES: tuple[str, ...] = (
    "hexphi",
    "beavertails",
    "harmbench",
    "advbench",
    "jailbreakbench",
    "mlcommons",
    "llama_guard3",
)


@dataclass(frozen=True)
class TaxonomyRow:
    """One row of the mapping table."""

    scheme: str
    external_category: str
    category: str  # a HEx-PHI id, or UNMAPPED when no category fits
    relation: str  # exact, partial or none
    note: str


def normalise_label(label: str) -> str:
    """Lower-case ``label`` and collapse separators, so "Physical harm" == "physical_harm"."""
    return re.sub(r"[^a-z0-9,]+", "_", label.strip().lower()).strip("_")


def taxonomy_table_path() -> Path:
    """Return the path of the bundled mapping table."""
    return data_dir("instruments") / "probes" / "taxonomy_map.csv"


@lru_cache(maxsize=1)
def load_taxonomy_map() -> tuple[TaxonomyRow, ...]:
    """Read and check the bundled mapping table.

    Raises
    ------
    PsyvalError
        If a row names an unknown scheme or a category that is not a HEx-PHI id.
    """
    path = taxonomy_table_path()
    rows: list[TaxonomyRow] = []
    with path.open(newline="", encoding="utf-8") as handle:
        for line_number, record in enumerate(csv.DictReader(handle), start=2):
            category = record["category"].strip() or UNMAPPED
            if record["scheme"] not in SCHEMES or category not in VALID_CATEGORIES:
                raise PsyvalError(
                    f"{path}, row {line_number}: invalid scheme {record['scheme']!r} or category "
                    f"{category!r}; schemes are {', '.join(SCHEMES)}"
                )
            rows.append(
                TaxonomyRow(
                    scheme=record["scheme"],
                    external_category=record["external_category"].strip(),
                    category=category,
                    relation=record["relation"].strip(),
                    note=record["note"].strip(),
                )
            )
    return tuple(rows)


def category_mapping(scheme: str) -> dict[str, str]:
    """Return normalised external label -> HEx-PHI id for one scheme.

    Raises
    ------
    PsyvalError
        If ``scheme`` is not in the table.
    """
    if scheme not in SCHEMES:
        raise PsyvalError(f"unknown taxonomy scheme {scheme!r}; choose one of: {', '.join(SCHEMES)}")
    return {
        normalise_label(row.external_category): row.category
        for row in load_taxonomy_map()
        if row.scheme == scheme
    }


def map_category(scheme: str, label: str) -> str | None:
    """Map one external category label to a HEx-PHI id.

    Returns ``UNMAPPED`` when the table maps the label to no HEx-PHI category, and
    ``None`` when the label is not in the table at all, so a loader can report
    the label instead of guessing.
    """
    return category_mapping(scheme).get(normalise_label(label))
