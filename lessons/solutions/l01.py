"""Lesson 1's solutions and wrong answers (graded by tests/test_exercises.py)."""


def word_count(job):
    text = job["input"].get("text")
    if text is None:
        return {"error": "the input needs a 'text' string"}
    return {"words": len(text.split())}


def word_count_wrapped(job):   # wraps its result in "output"
    return {"output": {"words": len(job["input"].get("text", "").split())}}


def word_count_raises(job):    # a KeyError instead of an error message
    return {"words": len(job["input"]["text"].split())}


def word_count_splits_on_space(job):   # "".split(" ") is [""]: counts 1 word in ""
    text = job["input"].get("text")
    if text is None:
        return {"error": "no text"}
    return {"words": len(text.split(" "))}


GUARDED = '''import runpod


def handler(job):
    return {"echo": job["input"]}


if __name__ == "__main__":
    runpod.serverless.start({"handler": handler})
'''

UNGUARDED = GUARDED.replace('if __name__ == "__main__":\n    ', "")
NEVER_STARTS = GUARDED.replace('    runpod.serverless.start({"handler": handler})\n', "    pass\n")

SOLUTIONS = {"01.word_count": word_count, "01.guarded_worker": GUARDED}
WRONG = {
    "01.word_count": [word_count_wrapped, word_count_raises, word_count_splits_on_space],
    "01.guarded_worker": [UNGUARDED, NEVER_STARTS],
}
