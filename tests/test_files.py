"""read_jsonl: located errors; write_jsonl / atomic_file / atomic_dir: never half-written."""

from __future__ import annotations

import json

import pytest

from isara.errors import IsaraError
from isara.files import atomic_dir, atomic_file, read_jsonl, write_jsonl

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


def leftovers(folder):
    return sorted(p.name for p in folder.iterdir())


def test_write_jsonl_failure_leaves_nothing(tmp_path):
    def rows():
        yield {"question": "q", "answer": "a"}
        raise RuntimeError("generator failed")

    target = tmp_path / "out.jsonl"
    with pytest.raises(RuntimeError):
        write_jsonl(target, rows())
    assert not target.exists()
    assert leftovers(tmp_path) == []


def test_write_jsonl_unserialisable_row_leaves_nothing(tmp_path):
    target = tmp_path / "out.jsonl"
    with pytest.raises(TypeError):
        write_jsonl(target, [{"question": "q"}, {"question": object()}])
    assert not target.exists()
    assert leftovers(tmp_path) == []


def test_write_jsonl_failure_keeps_previous_file(tmp_path):
    target = tmp_path / "out.jsonl"
    write_jsonl(target, [{"question": "old"}])
    with pytest.raises(TypeError):
        write_jsonl(target, [{"question": object()}])
    assert [json.loads(line) for line in target.read_text().splitlines()] == [{"question": "old"}]
    assert leftovers(tmp_path) == ["out.jsonl"]


def test_atomic_file_raising_block_leaves_nothing(tmp_path):
    target = tmp_path / "out.bin"
    with pytest.raises(RuntimeError):
        with atomic_file(target) as tmp:
            tmp.write_bytes(b"partial")
            raise RuntimeError("stage failed")
    assert not target.exists()
    assert leftovers(tmp_path) == []


def test_atomic_file_success(tmp_path):
    target = tmp_path / "out.bin"
    with atomic_file(target) as tmp:
        tmp.write_bytes(b"done")
    assert target.read_bytes() == b"done"
    assert leftovers(tmp_path) == ["out.bin"]


def test_atomic_dir_raising_block_leaves_nothing(tmp_path):
    target = tmp_path / "model"
    with pytest.raises(RuntimeError):
        with atomic_dir(target) as tmp:
            (tmp / "weights.bin").write_bytes(b"partial")
            (tmp / "nested").mkdir()
            (tmp / "nested" / "x").write_text("y")
            raise RuntimeError("training failed")
    assert not target.exists()
    assert leftovers(tmp_path) == []


def test_atomic_dir_failure_keeps_previous_folder(tmp_path):
    target = tmp_path / "model"
    target.mkdir()
    (target / "old.bin").write_bytes(b"old")
    with pytest.raises(RuntimeError):
        with atomic_dir(target) as tmp:
            (tmp / "new.bin").write_bytes(b"new")
            raise RuntimeError("training failed")
    assert leftovers(target) == ["old.bin"]
    assert leftovers(tmp_path) == ["model"]


def test_atomic_dir_success_replaces_folder(tmp_path):
    target = tmp_path / "model"
    target.mkdir()
    (target / "old.bin").write_bytes(b"old")
    with atomic_dir(target) as tmp:
        (tmp / "new.bin").write_bytes(b"new")
    assert leftovers(target) == ["new.bin"]
    assert leftovers(tmp_path) == ["model"]
