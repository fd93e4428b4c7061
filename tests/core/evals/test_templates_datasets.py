"""Templates (sandboxed, strict, versioned) and datasets (CSV/JSONL, versioned): what a user
sees when they get it right and when they get it wrong, and that a refusal changes nothing."""
from __future__ import annotations

import pytest

from core.errors import BadRequestError
from core.evals.datasets import parse_dataset

GOOD_CSV = b'question,expected\n"What is 2+2?",4\n"Capital of France, please",Paris\n'


def test_every_save_is_a_new_version_and_old_versions_stay(bench):
    first = bench.save_template("qa", "Answer: {{ question }}", user="ana", service_type="xray")
    second = bench.save_template("qa", "Answer briefly: {{ question }}", system="Be {{ tone }}.",
                                 user="ana", service_type="xray")
    assert (first.ref, second.ref) == ("qa@1", "qa@2")
    assert second.variables == ("question", "tone")
    assert bench.template("qa@1").template == "Answer: {{ question }}"
    assert bench.template("qa").ref == "qa@2"
    assert [t["versions"] for t in bench.evals.templates()] == [2]


def test_a_bad_template_is_refused_and_nothing_is_saved(bench):
    with pytest.raises(BadRequestError, match="not a valid template at line 1"):
        bench.save_template("qa", "Answer: {{ question ", user="ana")
    with pytest.raises(BadRequestError, match="Service type 'nope' is not configured"):
        bench.save_template("qa", "Answer: {{ question }}", user="ana", service_type="nope")
    assert bench.evals.templates() == []


def test_a_missing_variable_names_the_row_and_the_variable(bench):
    saved = bench.save_template("qa", "Q: {{ question }} in {{ lang }}", user="ana")
    with pytest.raises(BadRequestError) as caught:
        saved.render({"question": "hi"}, where="Row 3")
    assert str(caught.value) == ("Row 3: the template uses {{ lang }} but no value for 'lang' "
                                 "was given (variables given: question).")


def test_the_sandbox_refuses_python_internals(bench):
    saved = bench.save_template("evil", "{{ ''.__class__.__mro__[1].__subclasses__() }}", user="ana")
    with pytest.raises(BadRequestError, match="sandbox forbids|could not be rendered"):
        saved.render({})


def test_csv_rows_become_variables_and_a_changed_file_a_new_version(bench):
    columns, rows = parse_dataset(GOOD_CSV, "qs.csv")
    assert columns == ("question", "expected")
    assert rows[1] == {"question": "Capital of France, please", "expected": "Paris"}
    one = bench.upload_dataset(GOOD_CSV, "qs.csv", user="ana")
    again = bench.upload_dataset(GOOD_CSV, "qs.csv", user="ana")
    two = bench.upload_dataset(GOOD_CSV + b"Largest ocean?,Pacific\n", "qs.csv", user="ana")
    assert (one.ref, again.ref, two.ref) == ("qs@1", "qs@1", "qs@2")
    assert len(bench.dataset("qs@1").rows) == 2 and len(bench.dataset("qs").rows) == 3


@pytest.mark.parametrize("content, filename, message", [
    (b'question,expected\n"What is 2+2?",4\nCapital of France, please,Paris\n', "bad.csv",
     "bad.csv, row 3, column 'expected': the row has 3 values but the header names 2 columns"),
    (b'question,expected\n"What is 2+2?\n', "bad.csv", "bad.csv, row 2: the CSV is malformed (a quoted value is never closed)"),
    (b'question,,expected\na,b,c\n', "bad.csv", "bad.csv, row 1, column 2: the column has no name"),
    (b'question,question\na,b\n', "bad.csv", "bad.csv, row 1, column 2: 'question' appears twice"),
    (b'question\n', "bad.csv", "bad.csv has a header but no rows"),
    (b'question\n\xff\xfe\n', "bad.csv", "bad.csv, row 2: the file is not UTF-8 text"),
    (b'{"question": "a"}\n{"question": "b", "lang": "fr"}\n', "bad.jsonl",
     "bad.jsonl, row 2, column 'lang': this column is not in the first row"),
    (b'{"question": "a", "lang": "en"}\n{"question": "b"}\n', "bad.jsonl",
     "bad.jsonl, row 2, column 'lang': the row has no value for it"),
    (b'{"question": "a"}\n{"question": \n', "bad.jsonl", "bad.jsonl, row 2: not valid JSON"),
    (b'["a"]\n', "bad.jsonl", "bad.jsonl, row 1: each line must be a JSON object"),
    (b'a,b\n', "data.xlsx", "data.xlsx: upload a .csv or .jsonl file"),
])
def test_a_malformed_file_names_row_and_column_and_stores_nothing(bench, content, filename, message):
    with pytest.raises(BadRequestError) as caught:
        bench.upload_dataset(content, filename, user="ana")
    assert str(caught.value).startswith(message)
    assert bench.evals.datasets() == []


def test_jsonl_keeps_structured_values(bench):
    data = bench.upload_dataset(b'{"question": "sum", "numbers": [1, 2]}\n', "nums.jsonl", user="ana")
    saved = bench.save_template("sum", "{{ question }} of {{ numbers | join('+') }}", user="ana")
    assert saved.render(data.rows[0]) == (None, "sum of 1+2")
