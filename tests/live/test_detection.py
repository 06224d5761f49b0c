"""A followed file is detected as ``hgobs classify`` detects it: the same reader, the same
banner lines and the same skip reasons for the lines before its first record."""

from __future__ import annotations

import io

import pytest

from hgobs.live.follow import detected
from hgobs.readers import BANNER, ReadContext, read_file
from hgobs.readers.base import Item
from tests.live.kit import sample_lines


def _followed(head: bytes, name: str) -> list[Item]:
    """The items a follower reads from a file that holds ``head`` and nothing more."""
    how = detected(head, name, True)
    assert isinstance(how, tuple), how
    reader, banner, source = how
    return [*(Item(f"{name}:{n}", reason=BANNER) for n in banner),
            *reader.read(io.BufferedReader(source), name, ReadContext())]


def _skips(items: list[Item]) -> list[tuple[str, str]]:
    return [(i.source, str(i.reason)) for i in items if i.record is None]


@pytest.mark.parametrize("start", [
    "",  # records from the first line
    "\n\n   \n",  # blank lines first
    "service starting\n",  # a banner
    "service starting\n{\"schema\": \"hgobs.attempt/1\", \"time\": \n",  # and a cut record
    "a banner line longer than the head, over many lines\n" * 100,  # past the sniffed head
])
def test_a_followed_head_reads_as_hgobs_classify_reads_it(tmp_path, start):
    lines = sample_lines()[:3]
    path = tmp_path / "app.log"
    path.write_text(start + "".join(lines), encoding="utf-8")
    whole = list(read_file(str(path), ReadContext()))
    followed = _followed(path.read_bytes(), str(path))
    assert _skips(followed) == _skips(whole)
    assert [i.source for i in followed] == [i.source for i in whole]
    assert sum(i.record is not None for i in followed) == len(lines)
