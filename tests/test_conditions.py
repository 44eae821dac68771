"""Rejections of malformed profile CSV files by psyval.study.conditions.read_profiles_csv."""

from __future__ import annotations

from pathlib import Path

import pytest

from psyval.errors import PsyvalError
from psyval.study.conditions import read_profiles_csv
from psyval.study.spec import BASIC_VALUES, CsvProfilesSpec

RATINGS = "# scale: 1-7\n# direction: higher_is_more_important\nname," + ",".join(BASIC_VALUES) + "\n"
RANKS = "# scale: 1-10\n# direction: lower_is_more_important\nname," + ",".join(f"{v}_rank" for v in BASIC_VALUES) + "\n"


def _read(tmp_path: Path, content: str | bytes) -> None:
    path = tmp_path / "profiles.csv"
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content, encoding="utf-8")
    read_profiles_csv(CsvProfilesSpec(path))


def test_non_utf8_file_rejected(tmp_path: Path) -> None:
    with pytest.raises(PsyvalError, match=r"not UTF-8 text \(byte 0xe9 .*\); save it as UTF-8"):
        _read(tmp_path, (RATINGS + "caf\xe9,7,6,5,4,2,2,1,1,4,5\n").encode("latin-1"))


def test_extra_cells_rejected(tmp_path: Path) -> None:
    with pytest.raises(PsyvalError, match="line 4: the row has 13 cells but the header has 11 columns"):
        _read(tmp_path, RATINGS + "keen,7,6,5,4,2,2,1,1,4,5,9,9\n")


@pytest.mark.parametrize(
    ("ranks", "fragment"),
    [
        (["1"] * 10, "self_direction_rank and stimulation_rank share rank 1; ranks must differ"),
        (["2.5", "1"] + [str(r) for r in range(3, 11)], "ranks must be whole numbers, got self_direction_rank = 2.5"),
    ],
)
def test_tied_or_fractional_ranks_rejected(tmp_path: Path, ranks: list[str], fragment: str) -> None:
    with pytest.raises(PsyvalError, match=fragment):
        _read(tmp_path, RANKS + "keen," + ",".join(ranks) + "\n")


def test_empty_file_and_late_declaration_named(tmp_path: Path) -> None:
    with pytest.raises(PsyvalError, match="the file is empty"):
        _read(tmp_path, "\n")
    late = "# scale: 1-7\nname," + ",".join(BASIC_VALUES) + "\n# direction: higher_is_more_important\n"
    with pytest.raises(PsyvalError, match="line 3: .* declarations must come above the header"):
        _read(tmp_path, late + "keen,7,6,5,4,2,2,1,1,4,5\n")
