"""The lesson rules (``lessons.rules``) and the output comparison (``lessons.run``), proven
on small synthetic notebooks: a lesson that keeps every rule passes, and each way of
breaking one is reported."""

from __future__ import annotations

import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook, new_output

from lessons.rules import ALL_WORDS, EXPECTED, MAIN_CELLS, MAIN_WORDS, order_problems, prose_words, rule_problems, size
from lessons.run import checked_output_differences

PARAMS = 'MODEL = "tiny"\nDEVICE = "auto"\nDTYPE = "auto"'


def _code(src, *tags):
    cell = new_code_cell(src)
    if tags:
        cell.metadata["tags"] = list(tags)
    return cell


def lesson(*middle, exercises=2, after=()):
    """A lesson that keeps the rules, with ``middle`` cells on its main path."""
    cells = [new_markdown_cell("# A lesson\n\nAfterwards you can write a handler."),
             _code(PARAMS, "parameters"),
             _code("from lessons.setup import start_lesson\nlesson = start_lesson(MODEL, DEVICE, DTYPE)"),
             *middle,
             new_markdown_cell("## Exercises\n\nTwo of them.")]
    cells += [_code(f'check("01.ex{i}", None)', "exercise") for i in range(exercises)]
    return new_notebook(cells=cells + list(after))


def words(n):
    return new_markdown_cell(" ".join(["word"] * n))


def test_a_lesson_that_keeps_the_rules_passes():
    assert rule_problems(lesson(), "05_error_handling") == []


def test_prose_counts_markdown_words_and_code_comments_but_not_magics():
    assert prose_words(new_markdown_cell("# Title\n\ntwo words")) == 4
    assert prose_words(new_code_cell("x = 1  # three words here\n%%time # not prose\ny = 2")) == 3


def test_size_splits_the_main_path_at_the_exercises_heading():
    nb = lesson(words(10), after=[new_markdown_cell("## Appendix\n\nmore words")])
    s = size(nb)
    assert s.main_cells == 4 and s.has_exercises
    # the title cell: 9 words ("#" counts, as in the shared snippet); the headings: 5 and 4
    assert s.main_words == 9 + 10 and s.all_words == 9 + 10 + 5 + 4


def test_too_many_cells_on_the_main_path():
    nb = lesson(*[_code(f"x = {i}") for i in range(MAIN_CELLS - 3 + 1)])
    assert rule_problems(nb, "05_x") == [f"main path has {MAIN_CELLS + 1} cells (at most {MAIN_CELLS})"]
    assert rule_problems(lesson(*[_code(f"x = {i}") for i in range(MAIN_CELLS - 3)]), "05_x") == []


def test_too_many_words_on_the_main_path_and_in_the_whole_lesson():
    problems = rule_problems(lesson(words(MAIN_WORDS)), "05_x")
    assert any("main path has" in p and "words of prose" in p for p in problems)
    whole = lesson(after=[new_markdown_cell("## Appendix"), words(ALL_WORDS)])
    assert [p for p in rule_problems(whole, "05_x") if "words" in p] == \
        [f"the lesson has {size(whole).all_words} words of prose (at most {ALL_WORDS})"]


def test_comment_words_count_as_prose():
    comments = "\n".join("x = 1  # " + " ".join(["w"] * 80) for _ in range(20))
    assert any("words of prose" in p for p in rule_problems(lesson(_code(comments)), "05_x"))


def test_a_long_code_cell_is_reported_anywhere_in_the_lesson():
    long = _code("\n".join(f"x{i} = {i}" for i in range(26)))
    assert rule_problems(lesson(long), "05_x") == ["code cell 3 has 26 lines (at most 25)"]
    assert rule_problems(lesson(_code("\n".join(f"x{i} = {i}" for i in range(25)))), "05_x") == []


def test_no_exercises_heading_or_too_few_exercises():
    nb = lesson()
    del nb.cells[-3:]
    assert "no 'Exercises' heading ending the main path" in rule_problems(nb, "05_x")
    assert rule_problems(lesson(exercises=1), "05_x") == [
        "1 cells tagged 'exercise' after the Exercises heading (at least 2)"]


def test_only_an_appendix_may_follow_the_exercises():
    assert rule_problems(lesson(after=[new_markdown_cell("## Under the hood\n\nx")]), "05_x") == []
    found = rule_problems(lesson(after=[new_markdown_cell("## More teaching")]), "05_x")
    assert len(found) == 1 and "'## More teaching'" in found[0]


def test_the_source_document_is_never_named():
    found = rule_problems(lesson(new_markdown_cell("As the source document says, ...")), "05_x")
    assert found == ["cell 3 refers to a source document the reader does not have"]
    printed = _code("print(1)")
    printed.outputs = [new_output("stream", name="stdout", text="see serverless-workers-deep-dive.md")]
    assert rule_problems(lesson(printed), "05_x") == ["cell 3 refers to a source document the reader does not have"]


def test_prose_first_and_the_parameters_cell():
    nb = lesson()
    nb.cells[0], nb.cells[1] = nb.cells[1], nb.cells[0]
    found = rule_problems(nb, "05_x")
    assert any("first cell" in p for p in found) and any("parameters" in p for p in found)
    nb = lesson()
    nb.cells[1].source = 'MODEL = "tiny"\nDEVICE = "auto"'
    assert rule_problems(nb, "05_x") == ["the parameters cell does not set DTYPE"]


WORKER = '''%%writefile my_worker.py
import runpod


def handler(job):
    return {"echo": job["input"]}


if __name__ == "__main__":
    runpod.serverless.start({"handler": handler})
'''


def test_lesson_one_opens_with_a_worker_file_and_its_test_input():
    good = lesson(_code(WORKER), _code('%%writefile test_input.json\n{"input": {"prompt": "hi"}}'))
    assert rule_problems(good, "01_handler_basics") == []
    unguarded = WORKER.replace('if __name__ == "__main__":\n    ', "")
    found = rule_problems(lesson(_code(unguarded), _code("%%writefile test_input.json\n{}")), "01_handler_basics")
    assert len(found) == 1 and "__main__ guard" in found[0]
    too_long = WORKER.replace("import runpod\n", "import runpod\n" + "\n" * 12)
    assert rule_problems(lesson(_code(too_long), _code("%%writefile test_input.json\n{}")), "01_x") != []
    assert rule_problems(lesson(_code(WORKER)), "01_x") == ["missing topic: a test_input.json"]


def test_topic_markers_of_lessons_two_three_four_and_twelve():
    assert rule_problems(lesson(_code("job.cancel()")), "02_streaming") == []
    assert rule_problems(lesson(), "02_streaming") == ["missing topic: a client cancelling a job (.cancel())"]
    assert rule_problems(lesson(_code("url = webhook_url")), "03_x") == []
    four = [_code("runpod.AsyncioEndpoint"), _code("def adjust_concurrency(current):\n    return 2"),
            _code("LocalEndpoint(min_workers=2)")]
    assert rule_problems(lesson(*four), "04_x") == []
    assert len(rule_problems(lesson(*four[:2]), "04_x")) == 1
    assert rule_problems(lesson(_code("client = ep.asyncio_endpoint(session)"), *four[1:]), "04_x") == []
    assert len(rule_problems(lesson(*four[1:]), "04_x")) == 1
    twelve = [_code("!python w.py --rp_serve_api"), new_markdown_cell("## Deployment checklist"),
              _code("runpod.endpoint_url_base = BASE")]
    assert rule_problems(lesson(*twelve), "12_testing_and_deployment") == []
    assert rule_problems(lesson(*twelve[::2]), "12_testing_and_deployment") == [
        "missing topic: a deployment checklist (a markdown heading with 'checklist')"]


def test_the_lesson_list_accepts_later_lessons_in_numeric_order():
    assert order_problems(EXPECTED) == []
    later = EXPECTED[:8] + ["09_openai", "10_model_sources", "11_large_outputs"] + EXPECTED[8:]
    assert order_problems(later) == []
    assert order_problems(EXPECTED[:-1]) != []
    assert order_problems(EXPECTED + ["13_more"]) != []
    assert order_problems([EXPECTED[1], EXPECTED[0], *EXPECTED[2:]]) != []
    assert order_problems(EXPECTED[:8] + ["09_testing_and_deployment"]) != []


def _checked(*outputs, tagged=True):
    cell = _code("print(status)", *(["nbval-check-output"] if tagged else []))
    cell.outputs = list(outputs)
    return new_notebook(cells=[new_markdown_cell("# t"), cell])


def test_checked_outputs_compare_text_after_joining_streams_and_dropping_colour():
    saved = _checked(new_output("stream", name="stdout", text="COMPLETED\n"),
                     new_output("display_data", data={"text/plain": "<Figure>", "image/png": "AAAA"}))
    again = _checked(new_output("stream", name="stdout", text="\x1b[32mCOMPLETED\x1b[0m  \n"),
                     new_output("display_data", data={"text/plain": "<Figure>", "image/png": "BBBB"}))
    split = _checked(new_output("stream", name="stdout", text="COMP"), new_output("stream", name="stdout", text="LETED\n"),
                     new_output("display_data", data={"text/plain": "<Figure>", "image/png": "AAAA"}))
    assert checked_output_differences(saved, again) == []
    assert checked_output_differences(saved, split) == []


def test_checked_outputs_report_a_changed_value_but_ignore_untagged_cells():
    saved = _checked(new_output("stream", name="stdout", text="COMPLETED\n"))
    failed = _checked(new_output("stream", name="stdout", text="FAILED\n"))
    found = checked_output_differences(saved, failed)
    assert len(found) == 1 and "COMPLETED" in found[0] and "FAILED" in found[0]
    assert checked_output_differences(_checked(new_output("stream", name="stdout", text="1.2 s\n"), tagged=False),
                                      _checked(new_output("stream", name="stdout", text="3.4 s\n"), tagged=False)) == []
    error = new_output("error", ename="ValueError", evalue="bad", traceback=[])
    assert checked_output_differences(saved, _checked(error)) != []


def test_checked_outputs_skip_papermills_injected_cell_but_not_changed_code():
    saved = _checked(new_output("stream", name="stdout", text="ok\n"))
    executed = nbformat.from_dict(saved)
    injected = _code("DTYPE = 'bfloat16'", "injected-parameters")
    executed.cells.insert(1, injected)
    assert checked_output_differences(saved, executed) == []
    executed.cells[2].source = "print(other)"
    assert checked_output_differences(saved, executed) == ["the two copies do not have the same cells"]
