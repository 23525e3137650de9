from __future__ import annotations

import pytest

from app.pages.merge import (
    MergeResult,
    has_conflict_markers,
    merge_tags,
    merge_text,
    merge_value,
)

BASE = "# Title\n\nFirst paragraph.\n\nSecond paragraph.\n\nThird paragraph.\n"


def test_edits_in_different_paragraphs_merge_cleanly() -> None:
    theirs = BASE.replace("First paragraph.", "First paragraph, edited by them.")
    yours = BASE.replace("Third paragraph.", "Third paragraph, edited by me.")

    result = merge_text(BASE, theirs, yours)

    assert result == MergeResult(
        text=(
            "# Title\n\nFirst paragraph, edited by them.\n\nSecond paragraph.\n\n"
            "Third paragraph, edited by me.\n"
        ),
        clean=True,
        conflicts=0,
    )
    assert not has_conflict_markers(result.text)


def test_same_edit_on_both_sides_is_not_a_conflict() -> None:
    edited = BASE.replace("Second paragraph.", "Second paragraph, fixed.")

    result = merge_text(BASE, edited, edited)

    assert result == MergeResult(text=edited, clean=True, conflicts=0)


def test_only_one_side_changed_takes_that_side() -> None:
    theirs = BASE.replace("Second", "2nd")

    assert merge_text(BASE, theirs, BASE).text == theirs
    assert merge_text(BASE, BASE, theirs).text == theirs


def test_overlapping_edits_give_one_conflict_with_both_versions() -> None:
    theirs = BASE.replace("Second paragraph.", "Second paragraph, their way.")
    yours = BASE.replace("Second paragraph.", "Second paragraph, my way.")

    result = merge_text(BASE, theirs, yours)

    assert not result.clean
    assert result.conflicts == 1
    assert result.text == (
        "# Title\n\nFirst paragraph.\n\n"
        "<<<<<<< theirs (saved meanwhile)\n"
        "Second paragraph, their way.\n"
        "=======\n"
        "Second paragraph, my way.\n"
        ">>>>>>> yours\n"
        "\nThird paragraph.\n"
    )
    assert has_conflict_markers(result.text)


def test_two_separate_conflicts_are_counted() -> None:
    theirs = BASE.replace("First", "Their first").replace("Third", "Their third")
    yours = BASE.replace("First", "My first").replace("Third", "My third")

    result = merge_text(BASE, theirs, yours)

    assert (result.clean, result.conflicts) == (False, 2)
    assert result.text.count("<<<<<<< theirs (saved meanwhile)\n") == 2


def test_additions_at_the_end_by_both_sides_conflict() -> None:
    result = merge_text(BASE, BASE + "\nTheir new ending.\n", BASE + "\nMy new ending.\n")

    assert (result.clean, result.conflicts) == (False, 1)
    # The blank line both added is agreed on and stays outside the conflict block.
    assert result.text == (
        BASE + "\n<<<<<<< theirs (saved meanwhile)\nTheir new ending.\n=======\n"
        "My new ending.\n>>>>>>> yours\n"
    )


def test_same_addition_at_the_end_merges_cleanly() -> None:
    both = BASE + "\nA shared ending.\n"

    assert merge_text(BASE, both, both) == MergeResult(text=both, clean=True, conflicts=0)


def test_conflict_on_an_empty_base() -> None:
    result = merge_text("", "theirs\n", "yours\n")

    assert result.conflicts == 1
    assert result.text == (
        "<<<<<<< theirs (saved meanwhile)\ntheirs\n=======\nyours\n>>>>>>> yours\n"
    )


@pytest.mark.parametrize(
    ("theirs_end", "yours_end", "expected_end"),
    [("\n", "\n", "\n"), ("\n", "", ""), ("", "\n", "\n"), ("", "", "")],
)
def test_trailing_newline_follows_yours(theirs_end: str, yours_end: str, expected_end: str) -> None:
    base = "one\ntwo\nthree\n"
    theirs = "ONE\ntwo\nthree" + theirs_end
    yours = "one\ntwo\nTHREE" + yours_end

    result = merge_text(base, theirs, yours)

    # A missing final newline alone is not a change to the last line, so no conflict.
    assert result == MergeResult(text="ONE\ntwo\nTHREE" + expected_end, clean=True, conflicts=0)


def test_crlf_is_normalised() -> None:
    base = "one\r\ntwo\r\nthree\r\n"
    theirs = "ONE\r\ntwo\r\nthree\r\n"
    yours = "one\ntwo\nTHREE\n"

    assert merge_text(base, theirs, yours) == MergeResult(
        text="ONE\ntwo\nTHREE\n", clean=True, conflicts=0
    )


def test_empty_result_has_no_newline() -> None:
    assert merge_text("gone\n", "", "") == MergeResult(text="", clean=True, conflicts=0)


def test_delete_against_edit_conflicts() -> None:
    result = merge_text("a\n\nb\n\nc\n", "a\n\nc\n", "a\n\nB\n\nc\n")

    assert result.conflicts == 1
    assert "<<<<<<< theirs (saved meanwhile)\n=======\nB\n\n>>>>>>> yours\n" in result.text


@pytest.mark.parametrize(
    ("base", "theirs", "yours", "expected"),
    [
        ("Old", "Old", "Old", ("Old", True)),
        ("Old", "Theirs", "Old", ("Theirs", True)),
        ("Old", "Old", "Yours", ("Yours", True)),
        ("Old", "Same", "Same", ("Same", True)),
        ("Old", "Theirs", "Yours", ("Yours", False)),
    ],
)
def test_merge_value(base: str, theirs: str, yours: str, expected: tuple[str, bool]) -> None:
    assert merge_value(base, theirs, yours) == expected


def test_merge_value_works_for_other_types() -> None:
    assert merge_value(None, 3, None) == (3, True)
    assert merge_value(1, 2, 3) == (3, False)


@pytest.mark.parametrize(
    ("base", "theirs", "yours", "expected"),
    [
        (["a", "b"], ["a", "b"], ["a", "b"], ["a", "b"]),
        (["a", "b"], ["a", "b", "t"], ["a", "b", "y"], ["a", "b", "y", "t"]),
        (["a", "b"], ["b"], ["a", "b", "y"], ["b", "y"]),
        (["a", "b"], ["a", "b", "t"], ["b"], ["b", "t"]),
        (["a", "b"], ["a"], ["b"], []),
        (["a"], ["a", "new"], ["a", "new"], ["a", "new"]),
        (["a"], ["new", "a"], ["a", "new"], ["a", "new"]),
        ([], ["t"], ["y"], ["y", "t"]),
        (["b", "a"], ["b", "a"], ["a", "b"], ["a", "b"]),
        (["a"], ["a", "t", "t"], ["a"], ["a", "t"]),
    ],
)
def test_merge_tags(
    base: list[str], theirs: list[str], yours: list[str], expected: list[str]
) -> None:
    assert merge_tags(base, theirs, yours) == expected


def test_merge_tags_accepts_tuples() -> None:
    assert merge_tags(("a",), ("a", "t"), ("y",)) == ["y", "t"]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("<<<<<<< theirs (saved meanwhile)\nx\n=======\ny\n>>>>>>> yours\n", True),
        ("intro\r\n<<<<<<< a\r\nx\r\n=======\r\ny\r\n>>>>>>> b", True),
        ("<<<<<<< a\n=======\n>>>>>>> b", True),
        ("plain text\n", False),
        ("", False),
        ("<<<<<<< a\nx\n>>>>>>> b\n", False),
        ("<<<<<<< a\nx\n=======\ny\n", False),
        ("=======\n<<<<<<< a\n>>>>>>> b\n", False),
        (">>>>>>> b\n=======\n<<<<<<< a\n", False),
        ("text <<<<<<< a\n=======\n>>>>>>> b\n", False),
        ("<<<<<<<a\n=======\n>>>>>>>b\n", False),
        ("Heading\n=======\n", False),
    ],
)
def test_has_conflict_markers(text: str, expected: bool) -> None:
    assert has_conflict_markers(text) is expected
