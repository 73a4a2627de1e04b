"""The score scale: each benchmark's chance floor and question count, and the transforms between an
accuracy and the logit of the chance-normalised score, ``eta = logit((score - floor) / (1 - floor))``.

Every module maps scores to logits and back through these functions; the invlogit is a parameter so
the same expression serves numpy/xarray arrays and PyTensor graphs (``sigmoid=pt.sigmoid``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy.special import expit

OUTCOMES = ("mmlu_pro", "math_l5")
# The paper's unit for compute in its decompositions: x = log10(FLOPs / 1e18).
COMPUTE_ORIGIN_LOG10_FLOPS = 18.0


@dataclass(frozen=True)
class ScoreScale:
    """An outcome's chance floor (accuracy of random guessing) and its number of questions."""

    outcome: str
    floor: float
    n_questions: int

    def normalised(self, score: Any) -> Any:
        """(score - floor) / (1 - floor): 0 at chance, 1 at a perfect score."""
        return (score - self.floor) / (1 - self.floor)

    def to_logit(self, score: Any) -> Any:
        """logit of the normalised score; -inf at or below the floor, +inf at 1."""
        u = self.normalised(score)
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.log(u) - np.log1p(-u)

    def accuracy(self, eta: Any, sigmoid: Callable[[Any], Any] = expit) -> Any:
        """Expected accuracy floor + (1 - floor) invlogit(eta) of a latent logit."""
        return self.floor + (1 - self.floor) * sigmoid(eta)

    @property
    def edge(self) -> float:
        """Half a question on the normalised scale: observed scores are kept this far inside (0, 1), so a score at
        or below chance (or a perfect one) sits at the edge; the likelihood treats such a score as censored."""
        return 0.5 / self.n_questions

    def inside(self, normalised: Any) -> np.ndarray:
        """Normalised scores kept ``edge`` inside (0, 1)."""
        return np.clip(np.asarray(normalised, dtype=float), self.edge, 1 - self.edge)

    def observed_normalised(self, successes: Any) -> np.ndarray:
        """The normalised score of counts of correct answers, kept ``edge`` inside (0, 1)."""
        return self.inside(self.normalised(np.asarray(successes, dtype=float) / self.n_questions))

    def successes(self, score: Any) -> np.ndarray:
        """Observed score as a count of correct answers."""
        return np.round(np.asarray(score, dtype=float) * self.n_questions).astype(np.int64)


SCALES = {
    "mmlu_pro": ScoreScale("mmlu_pro", floor=0.1, n_questions=12_032),  # 10 options
    "math_l5": ScoreScale("math_l5", floor=0.0, n_questions=1_324),  # free-form answers
}


def scale_of(outcome: str) -> ScoreScale:
    """The score scale of an outcome column."""
    return SCALES[outcome]


def logit_measurement_sd(score: Any, scale: ScoreScale) -> np.ndarray:
    """Binomial sampling SD of the logit of a score from ``scale.n_questions`` questions (delta method:
    sqrt(p (1 - p) / n) / ((1 - floor) u (1 - u)), u the normalised score); inf at the floor."""
    p = np.asarray(score, dtype=float)
    u = scale.normalised(p)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.sqrt(p * (1 - p) / scale.n_questions) / ((1 - scale.floor) * u * (1 - u))
