"""``python -m worker`` with one more fitness check, one that always fails.

For lesson 10 of a worker that its fitness checks end before it takes a
job: the real entry point, the real model and checks, plus ``model_speaks_french``.
"""

import sys

import worker.fitness
from worker.__main__ import main

_real_checks = worker.fitness.checks


def checks_and_a_failing_one(lm):
    def model_speaks_french() -> None:
        raise RuntimeError("asked for one token of French, got Python docs")

    return [*_real_checks(lm), model_speaks_french]


worker.fitness.checks = checks_and_a_failing_one

if __name__ == "__main__":
    sys.exit(main())
