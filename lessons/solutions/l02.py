"""Lesson 2's solutions and wrong answers (graded by tests/test_exercises.py)."""


def word_stream(job):
    words = job["input"].get("text", "").split()
    for word in words:
        yield {"word": word, "finished": False}
    yield {"finished": True, "count": len(words)}


def word_stream_returns_generator(job):   # the common mistake: returns a generator object
    def chunks():
        words = job["input"].get("text", "").split()
        for word in words:
            yield {"word": word, "finished": False}
        yield {"finished": True, "count": len(words)}
    return chunks()


def word_stream_no_final(job):
    for word in job["input"].get("text", "").split():
        yield {"word": word, "finished": False}


def read_text(job):
    text = ""
    for chunk in job.stream():
        text += chunk["token"]
        if chunk["finished"]:
            break
    return text


def read_text_as_written(job):   # reads chunk["output"], which Job.stream() has already taken out
    text = ""
    for chunk in job.stream():
        output = chunk.get("output", {})
        text += output.get("token", "")
        if output.get("finished"):
            break
    return text


def read_text_never_stops(job):
    return "".join(chunk["token"] for chunk in job.stream())


SOLUTIONS = {"02.word_stream": word_stream, "02.read_text": read_text}
WRONG = {
    "02.word_stream": [word_stream_returns_generator, word_stream_no_final],
    "02.read_text": [read_text_as_written, read_text_never_stops],
}
