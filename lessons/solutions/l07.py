"""Solutions and wrong answers to lesson 7's exercises (``lessons.exercises.l07``)."""

from __future__ import annotations

_KEPT: list = []


def make_handler(generate):
    def handler(job):
        return {"text": generate(job["input"]["prompt"]).text}

    return handler


def leaky_make_handler(generate):
    def handler(job):
        out = generate(job["input"]["prompt"])
        _KEPT.append(out)
        return {"text": out.text}

    return handler


def wrong_text_make_handler(generate):
    def handler(job):
        return {"text": job["input"]["prompt"]}

    return handler


def after_job(collect, empty_cache):
    collect()
    empty_cache()


def empty_first(collect, empty_cache):
    empty_cache()
    collect()


def only_empty(collect, empty_cache):
    empty_cache()


BYTES = {"float32": 4, "float16": 2, "bfloat16": 2, "int8": 1}


def weights_gib(n_params, dtype):
    return n_params * BYTES[dtype] / 2**30


SOLUTIONS = {
    "07.keep_nothing": make_handler,
    "07.cleanup_order": after_job,
    "07.weights_gib": weights_gib,
}
WRONG = {
    "07.keep_nothing": [leaky_make_handler, wrong_text_make_handler],
    "07.cleanup_order": [empty_first, only_empty],
    "07.weights_gib": [lambda n, dtype: n * BYTES[dtype] / 1e9, lambda n, dtype: n * 4 / 2**30],
}
