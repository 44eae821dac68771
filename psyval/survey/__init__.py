"""Survey a model with a questionnaire: prompts, answering, scoring and alignment strength.

``run_survey(backend, instrument, profile=None, method="logprob", variants=1, seed=0)``
returns a :class:`SurveyResult`; :func:`answer_items` answers any subset of
items, so a caller that stores rows can resume a survey item by item.
"""

from psyval.survey.answering import LOW_MASS_THRESHOLD, METHODS, answer_items
from psyval.survey.prompts import Variant, item_messages, make_variants
from psyval.survey.report import profile_table
from psyval.survey.runner import SurveyResult, responses_frame, run_survey, write_results
from psyval.survey.scoring import Alignment, alignment_strength, item_answers, score_responses

__all__ = [
    "LOW_MASS_THRESHOLD",
    "METHODS",
    "Alignment",
    "SurveyResult",
    "Variant",
    "alignment_strength",
    "answer_items",
    "item_answers",
    "item_messages",
    "make_variants",
    "profile_table",
    "responses_frame",
    "run_survey",
    "score_responses",
    "write_results",
]
