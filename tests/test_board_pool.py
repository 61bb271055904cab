"""The hub's board pool (esp32_kernel/board_pool.py): who gets which shared board, first come
first served or by the teacher's list, and what a restarted hub remembers. The hub itself
handing a pooled board to a student's kernel is in test_jupyterhub.py."""

from __future__ import annotations

import json

import pytest

from esp32_kernel.board_pool import BoardPool, PoolFileError

A, B, C = (f"rfc2217://lab-pc:{port}" for port in (4000, 4001, 4002))


def pool_of(tmp_path, **content) -> BoardPool:
    path = tmp_path / "boards.json"
    path.write_text(json.dumps(content))
    return BoardPool(path)


def test_first_come_first_served_until_none_is_free(tmp_path):
    pool = pool_of(tmp_path, boards=[A, B])
    assert [pool.claim(u) for u in ("ada", "grace", "lin")] == [A, B, None]
    assert pool.claim("ada") == A  # a second start while holding keeps the same board
    pool.release("ada")
    assert pool.claim("lin") == A  # given back, then taken by the next
    assert pool.holders() == {"grace": B, "lin": A}


def test_a_student_gets_last_times_board_when_it_is_free(tmp_path):
    pool = pool_of(tmp_path, boards=[A, B])
    pool.claim("ada"), pool.claim("grace")
    pool.release("ada"), pool.release("grace")
    assert pool.claim("grace") == B and pool.claim("ada") == A


def test_a_listed_students_board_is_theirs_alone(tmp_path):
    pool = pool_of(tmp_path, boards=[A], users={"lin": B})
    assert pool.claim("ada") == A
    assert pool.claim("grace") is None  # B is free, but it is lin's
    assert pool.claim("lin") == B


def test_a_restarted_hub_remembers_who_holds_what(tmp_path):
    pool = pool_of(tmp_path, boards=[A, B, C])
    pool.claim("ada"), pool.claim("grace")
    pool.release("ada")
    again = BoardPool(tmp_path / "boards.json")
    assert again.holders() == {"grace": B}
    assert again.claim("lin") == A  # ada's is free again; grace's is still held


def test_a_board_taken_out_of_the_pool_file_is_forgotten(tmp_path):
    pool = pool_of(tmp_path, boards=[A, B])
    pool.claim("ada"), pool.claim("grace")
    (tmp_path / "boards.json").write_text(json.dumps({"boards": [B]}))
    assert BoardPool(tmp_path / "boards.json").holders() == {"grace": B}


@pytest.mark.parametrize("content, words", [
    ("{not json", "cannot be read"),
    ('{"boards": "rfc2217://lab-pc:4000"}', "must look like"),
    ('{"boards": [4000]}', "must look like"),
    ('{"users": {"ada": "' + A + '", "lin": "' + A + '"}}', "one board to several students (ada, lin)"),
])  # fmt: skip
def test_a_bad_pool_file_says_what_is_wrong(tmp_path, content, words):
    (tmp_path / "boards.json").write_text(content)
    with pytest.raises(PoolFileError, match=words.replace("(", r"\(").replace(")", r"\)")):
        BoardPool(tmp_path / "boards.json")
    with pytest.raises(PoolFileError, match="cannot be read"):
        BoardPool(tmp_path / "missing.json")
