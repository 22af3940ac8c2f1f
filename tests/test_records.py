"""read_jsonl: located errors, and what write_jsonl writes reads back the same."""

from __future__ import annotations


import pytest

from isara.errors import IsaraError
from isara.atomic import write_jsonl
from isara.records import read_jsonl

FIELDS = ("question", "answer")
GOOD = '{"question": "q", "answer": "a"}'


def write(tmp_path, content: str | bytes):
    path = tmp_path / "rows.jsonl"
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content, encoding="utf-8")
    return path


def error_of(path) -> str:
    with pytest.raises(IsaraError) as err:
        read_jsonl(path, required=FIELDS)
    return str(err.value)


def test_reads_rows_and_skips_blank_lines(tmp_path):
    path = write(tmp_path, f"{GOOD}\n\n   \n" + '{"question": "q2", "answer": "a2", "id": 7}\n\n')
    assert read_jsonl(path, required=FIELDS) == [
        {"question": "q", "answer": "a"},
        {"question": "q2", "answer": "a2", "id": 7},
    ]


def test_line_numbers_count_blank_lines(tmp_path):
    path = write(tmp_path, f"{GOOD}\n\n{GOOD}\n{{broken\n")
    assert error_of(path).startswith(f"{path}:4: malformed JSON")


def test_malformed_json(tmp_path):
    path = write(tmp_path, f'{GOOD}\n{{"question": "q", "answer": \n{GOOD}\n')
    assert error_of(path).startswith(f"{path}:2: malformed JSON")


@pytest.mark.parametrize("line, kind", [("[1, 2]", "list"), ('"text"', "str"), ("3", "int"), ("null", "NoneType")])
def test_non_object_line(tmp_path, line, kind):
    path = write(tmp_path, f"{GOOD}\n{GOOD}\n{line}\n")
    message = error_of(path)
    assert message.startswith(f"{path}:3: expected a JSON object")
    assert kind in message


def test_missing_field(tmp_path):
    path = write(tmp_path, f'{GOOD}\n{{"question": "q"}}\n')
    assert error_of(path) == f"{path}:2: field 'answer' is missing"


@pytest.mark.parametrize("value", ['""', '"   "', "null", "3", '["a"]'])
def test_empty_or_non_string_field(tmp_path, value):
    path = write(tmp_path, f'{GOOD}\n{GOOD}\n{{"question": {value}, "answer": "a"}}\n')
    assert error_of(path) == f"{path}:3: field 'question' must be a non-empty string"


def test_non_utf8_names_the_line(tmp_path):
    content = (GOOD + "\n").encode() * 2 + b'{"question": "caf\xe9", "answer": "a"}\n' + (GOOD + "\n").encode()
    message = error_of(write(tmp_path, content))
    assert message.startswith(f"{tmp_path / 'rows.jsonl'}:3: not valid UTF-8")


def test_non_utf8_on_first_line(tmp_path):
    message = error_of(write(tmp_path, b"\xff\xfe" + GOOD.encode() + b"\n"))
    assert message.startswith(f"{tmp_path / 'rows.jsonl'}:1: not valid UTF-8")


@pytest.mark.parametrize("content", ["", "\n", "  \n\n\t\n"])
def test_empty_or_whitespace_file(tmp_path, content):
    path = write(tmp_path, content)
    assert error_of(path) == f"{path}: no records (empty file)"


def test_missing_file(tmp_path):
    with pytest.raises(IsaraError, match="file not found"):
        read_jsonl(tmp_path / "absent.jsonl")


def test_write_then_read_round_trip(tmp_path):
    rows = [{"id": "1", "question": "Où est-ce ?", "answer": "Ici.\nLigne deux."}, {"id": "2", "question": "q", "answer": "a"}]
    path = tmp_path / "sub" / "out.jsonl"
    write_jsonl(path, rows)
    assert read_jsonl(path, required=("id",) + FIELDS) == rows
    assert path.read_text(encoding="utf-8").count("\n") == 2
    assert sorted(p.name for p in path.parent.iterdir()) == ["out.jsonl"]


@pytest.mark.parametrize("separator", ["\u2028", "\u2029", "\x85"])
def test_round_trip_with_unicode_line_separators(tmp_path, separator):
    """Rows holding U+2028, U+2029 or U+0085 (written unescaped by json.dumps) read back whole:
    only "\\n" separates records."""
    rows = [{"question": f"first{separator}second", "answer": "a"}]
    path = tmp_path / "out.jsonl"
    write_jsonl(path, rows)
    assert read_jsonl(path, required=FIELDS) == rows
