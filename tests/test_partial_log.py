"""The partial log reuses only lines it can trust: an edited completion, a flipped bit, a repeated
batch or a line of other work is dropped and said, and its batch is generated again."""

import json

import pytest

from isara.lm.batching import Batching
from isara.lm.completion import Completion
from isara.lm.partial import PartialLog, checksum, log_line
from tests.test_generate import CPU, PROMPTS, SAMPLED

KEY = "a" * 64
SIZES = {0: 2, 1: 2, 2: 1}
BATCHES = {
    0: [Completion("Keep it sealed.", "end", 4), Completion("Ask a pharmacist.", "end", 5)],
    1: [Completion("Never mix bleach and ammonia.", "end", 7), Completion("Ventilate the room é.", "length", 6)],
    2: [Completion("Call the gas company.", "stop_string", 5)],
}


@pytest.fixture
def log(tmp_path) -> PartialLog:
    """A log of three finished batches, as a killed run leaves it."""
    written = PartialLog(tmp_path / "out.partial", KEY)
    for batch, completions in BATCHES.items():
        written.append(batch, completions)
    return written


def lines(log: PartialLog) -> list[bytes]:
    return log.file.read_bytes().splitlines(keepends=True)


def dropped(capsys) -> str:
    """The lines the log said on stderr."""
    return capsys.readouterr().err


def test_an_untampered_log_resumes_in_full_and_says_nothing(log, capsys):
    before = log.file.read_bytes()
    assert log.done(SIZES) == BATCHES
    assert dropped(capsys) == "" and log.file.read_bytes() == before
    row = json.loads(lines(log)[1])
    assert row["sha256"] == checksum(KEY, 1, [c.as_dict() for c in BATCHES[1]])


def test_an_edited_completion_is_dropped_and_said(log, capsys):
    rows = lines(log)
    row = json.loads(rows[1])
    row["completions"][0]["text"] = "Mixing bleach and ammonia is fine."
    rows[1] = (json.dumps(row, ensure_ascii=False) + "\n").encode()
    log.file.write_bytes(b"".join(rows))
    assert log.done(SIZES) == {0: BATCHES[0], 2: BATCHES[2]}
    said = dropped(capsys).splitlines()
    assert said == [f"partial log {log.file}: dropped 1 of 3 lines (1 damaged or edited); their batches are not reused"]
    assert log.done(SIZES) == {0: BATCHES[0], 2: BATCHES[2]} and dropped(capsys) == "", "said once, then gone"
    assert b"is fine" not in log.file.read_bytes()


def test_a_changed_batch_number_or_token_count_fails_the_checksum(log, capsys):
    rows = lines(log)
    rows[0] = rows[0].replace(b'"batch": 0', b'"batch": 1')
    rows[2] = rows[2].replace(b'"tokens": 5', b'"tokens": 6')
    log.file.write_bytes(b"".join(rows))
    assert log.done(SIZES) == {1: BATCHES[1]}
    assert "dropped 2 of 3 lines (2 damaged or edited)" in dropped(capsys)


@pytest.mark.parametrize("bit", range(8))
def test_any_flipped_bit_drops_its_line(log, capsys, bit):
    """Every bit of the middle line, its newline included, flipped in turn: that batch is never
    returned, the others come back unchanged or not at all, and the drop is said."""
    rows = lines(log)
    start = len(rows[0])
    for at in range(start, start + len(rows[1])):
        data = bytearray(b"".join(rows))
        data[at] ^= 1 << bit
        log.file.write_bytes(bytes(data))
        found = log.done(SIZES)
        assert 1 not in found and all(found[b] == BATCHES[b] for b in found), (at, bit)
        assert "dropped" in dropped(capsys), (at, bit)


def test_a_repeated_batch_is_refused_then_generated_again(log, capsys):
    rows = lines(log)
    log.file.write_bytes(b"".join(rows + [rows[1]]))
    assert log.done(SIZES) == {0: BATCHES[0], 2: BATCHES[2]}
    assert "dropped 2 of 4 lines (2 repeating a batch)" in dropped(capsys)
    log.append(1, BATCHES[1])  # the batch generated again is then reused: no endless refusal
    assert log.done(SIZES) == BATCHES and dropped(capsys) == ""


def test_a_batch_repeated_in_another_workers_file_is_refused(log, capsys):
    PartialLog(log.path, KEY, rank=1).append(2, [Completion("Open a window.", "end", 3)])
    assert log.done(SIZES) == {0: BATCHES[0], 1: BATCHES[1]}
    said = dropped(capsys).splitlines()
    assert len(said) == 2 and all("(1 repeating a batch)" in line for line in said)


def test_a_line_of_other_work_is_never_reused(log, tmp_path, capsys):
    """Spliced in as it was written, another work's line for batch 1 is left for its own work, unsaid
    (questions and answers share one folder); relabelled with this work's key, it fails its checksum."""
    other = PartialLog(tmp_path / "other", "b" * 64)
    other.append(1, [Completion("Other text.", "end", 2), Completion("More.", "end", 1)])
    foreign = lines(other)[0]
    rows = lines(log)
    log.file.write_bytes(rows[0] + foreign + rows[2])
    assert log.done(SIZES) == {0: BATCHES[0], 2: BATCHES[2]} and dropped(capsys) == ""
    assert PartialLog(log.path, "b" * 64).done({1: 2}) == other.done({1: 2}), "kept for its own work"
    relabelled = foreign.replace(b"b" * 64, KEY.encode())
    log.file.write_bytes(rows[0] + relabelled + rows[2])
    assert log.done(SIZES) == {0: BATCHES[0], 2: BATCHES[2]}
    assert "dropped 1 of 3 lines (1 damaged or edited)" in dropped(capsys)


def test_two_works_share_a_folder_and_both_resume(log, capsys):
    """The generate stage logs its questions, then its answers, in one folder: each finds its own."""
    answers = PartialLog(log.path, "c" * 64)
    answers.append(0, [Completion("An answer.", "end", 3)])
    assert answers.done({0: 1}) == {0: [Completion("An answer.", "end", 3)]}
    assert log.done(SIZES) == BATCHES and dropped(capsys) == ""


def test_malformed_lines_are_dropped(log, capsys):
    def signed(row: dict) -> bytes:
        row["sha256"] = checksum(row["key"], row["batch"], row["completions"])
        return (json.dumps(row) + "\n").encode()

    good = [c.as_dict() for c in BATCHES[2]]
    bad = [
        b"\n", b"[1, 2]\n", b"\xff\xfe not utf-8\n",
        (json.dumps({"key": KEY, "batch": 2, "completions": good}) + "\n").encode(),  # no checksum
        signed({"key": KEY, "batch": 2, "completions": [{**good[0], "stop": "maybe"}]}),
        signed({"key": KEY, "batch": 2, "completions": [{**good[0], "tokens": -1}]}),
        signed({"key": KEY, "batch": True, "completions": good}),
        signed({"key": KEY, "batch": 2, "completions": good, "extra": 1}),
        signed({"key": KEY, "batch": 7, "completions": good}),  # off the plan
        signed({"key": KEY, "batch": 2, "completions": good + good}),  # the wrong size
    ]
    log.file.write_bytes(b"".join(lines(log)[:2] + bad))
    assert log.done(SIZES) == {0: BATCHES[0], 1: BATCHES[1]}
    assert "dropped 10 of 12 lines (8 damaged or edited, 2 off the batch plan)" in dropped(capsys)


def test_a_line_cut_by_a_kill_is_still_left_unsaid_and_trimmed(log, capsys):
    rows = lines(log)
    log.file.write_bytes(rows[0] + rows[1] + rows[2][: len(rows[2]) // 2])
    assert log.done(SIZES) == {0: BATCHES[0], 1: BATCHES[1]} and dropped(capsys) == ""
    log.append(2, BATCHES[2])
    assert log.file.read_bytes() == b"".join(rows)


def test_log_lines_hold_their_checksum():
    line = json.loads(log_line(KEY, 2, BATCHES[2]))
    assert set(line) == {"key", "batch", "completions", "sha256"} and len(line["sha256"]) == 64
    assert line["sha256"] != checksum(KEY, 1, line["completions"]) != checksum("c" * 64, 2, line["completions"])


def _tamper(file, capsys):
    """A full run's log as a kill leaves it, then edited: batch 1's text changed (checksum kept),
    batch 2's line repeated; the last two batches never written."""
    rows = file.read_bytes().splitlines(keepends=True)
    edited = json.loads(rows[1])
    edited["completions"][0]["text"] = "TAMPERED"
    file.write_bytes(rows[0] + (json.dumps(edited) + "\n").encode() + rows[2] + rows[2])
    capsys.readouterr()
    return {json.loads(rows[n])["batch"] for n in (1, 2)}


def test_a_tampered_log_never_reaches_the_generated_text(tiny_llama, tmp_path, capsys):
    from isara.lm.engine import Engine

    engine = Engine(tiny_llama, CPU, Batching(batch_size=2))
    whole = engine.generate(PROMPTS, SAMPLED, log_dir=tmp_path / "log")
    _tamper(tmp_path / "log/rank-0.jsonl", capsys)
    resumed = engine.generate(PROMPTS, SAMPLED, log_dir=tmp_path / "log")
    out = capsys.readouterr()
    assert resumed == whole and all("TAMPERED" not in c.text for c in resumed)
    assert "dropped 3 of 4 lines (1 damaged or edited, 2 repeating a batch)" in out.err
    assert "resuming, 1 of 5 batches already done" in out.out
    batches = [json.loads(line)["batch"] for line in (tmp_path / "log/rank-0.jsonl").read_text().splitlines()]
    assert sorted(batches) == list(range(5))


def test_two_workers_regenerate_a_refused_batch(tiny_llama, tmp_path, capsys):
    """The batches refused are generated again by the workers, and the parent then finds every
    batch once: a repeated line does not come back to fail the assembled result."""
    from isara.lm.engine import Engine

    one = Engine(tiny_llama, CPU, Batching(batch_size=2)).generate(PROMPTS, SAMPLED, log_dir=tmp_path / "log")
    _tamper(tmp_path / "log/rank-0.jsonl", capsys)
    sharded = Engine(tiny_llama, CPU, Batching(batch_size=2, workers=2))
    two = sharded.generate(PROMPTS, SAMPLED, log_dir=tmp_path / "log")
    assert two == one
    assert capsys.readouterr().err.count("dropped 3 of 4 lines") == 1
