"""Studies: many value-aligned respondents surveyed, probed, judged and joined.

:func:`load_study` reads and validates a study file, :func:`run_study` runs it
stage by stage into a resumable SQLite store (:class:`StudyStore`) and writes
``respondents.csv``, one row per respondent.
"""

from psyval.study.spec import StudySpec, load_study, parse_study
from psyval.study.store import StudyStore, result_key

__all__ = ["StudySpec", "StudyStore", "load_study", "parse_study", "result_key"]
