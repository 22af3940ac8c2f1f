"""write_jsonl / atomic_file / atomic_dir: never half-written, the previous version kept on failure."""

from __future__ import annotations

import errno
import json
import os

import pytest

from isara.atomic import atomic_dir, atomic_file, write_jsonl


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


def test_a_killed_runs_temporary_siblings_are_removed_at_the_next_start(tmp_path):
    """kill -9 during a model save leaves .NAME.*.tmp (gigabytes for a real model); the next write cleans it."""
    stale_dir = tmp_path / ".iter1.abc123.tmp"
    stale_dir.mkdir()
    (stale_dir / "model.safetensors").write_bytes(b"half a model")
    (tmp_path / ".train.jsonl.xyz.tmp").write_text("half a file")
    (tmp_path / ".other.tmp").write_text("not ours")
    with atomic_dir(tmp_path / "iter1") as tmp:
        (tmp / "model.safetensors").write_bytes(b"a model")
    write_jsonl(tmp_path / "train.jsonl", [{"a": 1}])
    assert leftovers(tmp_path) == [".other.tmp", "iter1", "train.jsonl"]


@pytest.mark.parametrize("umask, file_mode, dir_mode", [(0o022, 0o644, 0o755), (0o002, 0o664, 0o775)])
def test_outputs_get_the_users_umask_not_owner_only(tmp_path, umask, file_mode, dir_mode):
    import os

    old = os.umask(umask)
    try:
        write_jsonl(tmp_path / "rows.jsonl", [{"a": 1}])
        with atomic_dir(tmp_path / "model") as tmp:
            (tmp / "weights").write_bytes(b"w")
    finally:
        os.umask(old)
    assert (tmp_path / "rows.jsonl").stat().st_mode & 0o777 == file_mode
    assert (tmp_path / "model").stat().st_mode & 0o777 == dir_mode


def full_disk() -> OSError:
    return OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))  # as write(2) reports it: no file named


def test_a_full_disk_names_the_file_being_written(tmp_path):
    target = tmp_path / "out.jsonl"
    with pytest.raises(OSError) as raised:
        with atomic_file(target):
            raise full_disk()
    assert raised.value.filename == str(target) and raised.value.errno == errno.ENOSPC
    assert leftovers(tmp_path) == []


def test_a_full_disk_in_a_folder_names_the_folder_or_its_file_never_the_hidden_sibling(tmp_path):
    target = tmp_path / "model"
    with pytest.raises(OSError) as raised:
        with atomic_dir(target):
            raise full_disk()
    assert raised.value.filename == str(target)
    with pytest.raises(OSError) as raised:
        with atomic_dir(target) as tmp:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(tmp / "shards" / "weights.bin"))
    assert raised.value.filename == str(target / "shards" / "weights.bin")
    assert leftovers(tmp_path) == []


def test_errors_that_are_not_the_writes_keep_their_own_names(tmp_path):
    with pytest.raises(TimeoutError) as raised:
        with atomic_dir(tmp_path / "model"):
            raise TimeoutError("timed out")  # a download, say: no file of ours to blame
    assert raised.value.filename is None
    with pytest.raises(FileNotFoundError) as missing:
        with atomic_file(tmp_path / "out.jsonl"):
            open(tmp_path / "no-such-input.jsonl")
    assert missing.value.filename == str(tmp_path / "no-such-input.jsonl")
