from __future__ import annotations

import random

import pytest
from markupsafe import Markup

from app.pages.diff import Diff, DiffLine, diff_text


def lines(n: int, prefix: str = "line") -> str:
    return "".join(f"{prefix} {i}\n" for i in range(1, n + 1))


def kinds(diff: Diff) -> list[str]:
    return [row.kind for row in diff.lines]


def test_identical_texts_give_an_empty_diff() -> None:
    diff = diff_text("a\nb\n", "a\nb\n")

    assert diff == Diff(lines=(), added=0, removed=0)
    assert diff.unchanged


def test_line_endings_and_final_newline_are_not_changes() -> None:
    assert diff_text("a\r\nb\r\n", "a\nb").unchanged
    assert diff_text("", "").unchanged


def test_inserted_line() -> None:
    diff = diff_text("a\nb\n", "a\nnew\nb\n")

    assert diff.lines == (
        DiffLine("equal", 1, 1, Markup("a"), Markup("a")),
        DiffLine("insert", None, 2, Markup(""), Markup("new")),
        DiffLine("equal", 2, 3, Markup("b"), Markup("b")),
    )
    assert (diff.added, diff.removed, diff.unchanged) == (1, 0, False)


def test_deleted_line() -> None:
    diff = diff_text("a\ngone\nb\n", "a\nb\n")

    assert diff.lines == (
        DiffLine("equal", 1, 1, Markup("a"), Markup("a")),
        DiffLine("delete", 2, None, Markup("gone"), Markup("")),
        DiffLine("equal", 3, 2, Markup("b"), Markup("b")),
    )
    assert (diff.added, diff.removed) == (0, 1)


def test_from_and_to_empty_text() -> None:
    created = diff_text("", "one\ntwo\n")
    emptied = diff_text("one\ntwo\n", "")

    assert kinds(created) == ["insert", "insert"]
    assert [row.new_no for row in created.lines] == [1, 2]
    assert (created.added, created.removed) == (2, 0)
    assert kinds(emptied) == ["delete", "delete"]
    assert [row.old_no for row in emptied.lines] == [1, 2]
    assert (emptied.added, emptied.removed) == (0, 2)


def test_replaced_line_highlights_only_the_changed_word() -> None:
    diff = diff_text("the quick brown fox\n", "the quick red fox\n")

    assert diff.lines == (
        DiffLine(
            "replace",
            1,
            1,
            Markup("the quick <del>brown</del> fox"),
            Markup("the quick <ins>red</ins> fox"),
        ),
    )
    assert (diff.added, diff.removed) == (1, 1)


def test_word_level_insertions_deletions_and_punctuation() -> None:
    diff = diff_text("Hello world, again.\n", "Hello big world; again.\n")

    (row,) = diff.lines
    assert row.kind == "replace"
    assert row.old_html == Markup("Hello world<del>,</del> again.")
    assert row.new_html == Markup("Hello <ins>big </ins>world<ins>;</ins> again.")


def test_adjacent_changed_words_form_one_highlight() -> None:
    (row,) = diff_text("keep one two keep\n", "keep three four keep\n").lines

    assert row.old_html == Markup("keep <del>one two</del> keep")
    assert row.new_html == Markup("keep <ins>three four</ins> keep")


def test_dissimilar_line_pair_becomes_delete_and_insert() -> None:
    diff = diff_text("a\nalpha beta gamma\nz\n", "a\nsomething else entirely\nz\n")

    assert diff.lines[1:3] == (
        DiffLine("delete", 2, None, Markup("alpha beta gamma"), Markup("")),
        DiffLine("insert", None, 2, Markup(""), Markup("something else entirely")),
    )
    assert (diff.added, diff.removed) == (1, 1)


def test_replace_block_pairs_lines_and_leaves_extras_as_delete_or_insert() -> None:
    diff = diff_text(
        "start\nred apple pie\ngreen pear tart\nend\n",
        "start\nred apple cake\ngreen pear flan\nblue plum crumble\nend\n",
    )

    assert kinds(diff) == ["equal", "replace", "replace", "insert", "equal"]
    assert [(row.old_no, row.new_no) for row in diff.lines] == [
        (1, 1),
        (2, 2),
        (3, 3),
        (None, 4),
        (4, 5),
    ]
    assert diff.lines[2].new_html == Markup("green pear <ins>flan</ins>")
    assert (diff.added, diff.removed) == (3, 2)


def test_html_is_escaped_everywhere() -> None:
    diff = diff_text(
        "<b>same</b>\nsay <script>alert(1)</script>\ngone <i>\n",
        "<b>same</b>\nsay <script>alert(2)</script>\nnew & <img src=x>\n",
    )

    html = "".join(row.old_html + row.new_html for row in diff.lines)
    assert "<script>" not in html
    assert "<b>" not in html
    assert "<img" not in html
    assert diff.lines[0].old_html == Markup("&lt;b&gt;same&lt;/b&gt;")
    replaced = diff.lines[1]
    assert replaced.kind == "replace"
    assert replaced.old_html == Markup("say &lt;script&gt;alert(<del>1</del>)&lt;/script&gt;")
    assert replaced.new_html == Markup("say &lt;script&gt;alert(<ins>2</ins>)&lt;/script&gt;")
    assert all(isinstance(row.old_html, Markup) for row in diff.lines)


def test_long_unchanged_runs_collapse_into_skip_rows() -> None:
    old = lines(30)
    new = old.replace("line 15\n", "line fifteen\n")

    diff = diff_text(old, new, context=3)

    assert kinds(diff) == ["skip", *["equal"] * 3, "replace", *["equal"] * 3, "skip"]
    assert diff.lines[0] == DiffLine("skip", None, None, Markup(""), Markup(""), skipped=11)
    assert [row.old_no for row in diff.lines[1:8]] == list(range(12, 19))
    assert diff.lines[-1].skipped == 12


def test_unchanged_run_between_changes_keeps_context_on_both_sides() -> None:
    old = lines(20)
    new = old.replace("line 2\n", "line two\n").replace("line 19\n", "line nineteen\n")

    diff = diff_text(old, new, context=2)

    assert kinds(diff) == [
        "equal",
        "replace",
        "equal",
        "equal",
        "skip",
        "equal",
        "equal",
        "replace",
        "equal",
    ]
    skip = diff.lines[4]
    assert skip.skipped == 12  # lines 5..16; 3-4 and 17-18 are context
    assert (diff.lines[3].old_no, diff.lines[5].old_no) == (4, 17)


def test_run_of_exactly_twice_the_context_is_not_collapsed() -> None:
    old = lines(8)
    new = old.replace("line 1\n", "line one\n").replace("line 8\n", "line eight\n")

    diff = diff_text(old, new, context=3)

    assert "skip" not in kinds(diff)
    assert len(diff.lines) == 8


def test_context_zero_shows_only_changes() -> None:
    old = lines(10)
    new = old.replace("line 5\n", "line five\n")

    diff = diff_text(old, new, context=0)

    assert kinds(diff) == ["skip", "replace", "skip"]
    assert [row.skipped for row in diff.lines] == [4, 0, 5]


def test_line_numbers_shift_after_insertions() -> None:
    old = lines(6)
    new = "intro\n" + old.replace("line 5\n", "line 5\nextra\n")

    diff = diff_text(old, new, context=1)

    numbered = [(row.kind, row.old_no, row.new_no) for row in diff.lines]
    assert numbered == [
        ("insert", None, 1),
        ("equal", 1, 2),
        ("skip", None, None),
        ("equal", 5, 6),
        ("insert", None, 7),
        ("equal", 6, 8),
    ]


def test_negative_context_is_rejected() -> None:
    with pytest.raises(ValueError, match="context"):
        diff_text("a", "b", context=-1)


def test_large_texts_diff_correctly() -> None:
    rng = random.Random(42)
    vocabulary = [f"word{i}" for i in range(1500)] + ["the", "a", "of", "and"] * 100
    old_lines = [
        "" if i % 6 == 5 else " ".join(rng.choice(vocabulary) for _ in range(12)) + "."
        for i in range(3000)
    ]
    new_lines = list(old_lines)
    changed = sorted(i for i in rng.sample(range(3000), 300) if old_lines[i])
    for i in changed:
        words = new_lines[i].split(" ")
        words[5] = "CHANGED"
        new_lines[i] = " ".join(words)
    old, new = "\n".join(old_lines) + "\n", "\n".join(new_lines) + "\n"
    assert len(old.split()) >= 30_000

    diff = diff_text(old, new)

    replaced = [row for row in diff.lines if row.kind == "replace"]
    assert [row.old_no for row in replaced] == [i + 1 for i in changed]
    assert [row.new_no for row in replaced] == [i + 1 for i in changed]
    assert all("<ins>CHANGED</ins>" in row.new_html for row in replaced)
    assert all(row.old_html.count("<del>") == 1 for row in replaced)
    assert (diff.added, diff.removed) == (len(changed), len(changed))
    shown = sum(1 for row in diff.lines if row.kind != "skip")
    assert shown + sum(row.skipped for row in diff.lines) == 3000


def test_long_single_line_paragraph_diffs_by_word() -> None:
    rng = random.Random(7)
    words = [rng.choice(["alpha", "beta", "gamma", "delta", "the", "a", ","]) for _ in range(3000)]
    words[1500] = "middle"
    old = " ".join(words)
    new = old.replace("middle", "centre")

    (row,) = diff_text(old, new).lines

    assert row.kind == "replace"
    assert row.old_html.count("<del>") == 1
    assert "<del>middle</del>" in row.old_html
    assert "<ins>centre</ins>" in row.new_html


def test_same_rows_as_difflib(monkeypatch: pytest.MonkeyPatch) -> None:
    # the compiled SequenceMatcher must give exactly the diffs the standard library's gives
    import difflib

    import app.pages.diff as module

    rng = random.Random(3)
    words = ["alpha", "beta", "gamma", "the", "a", "of", "and", ",", "."]
    pairs = []
    for _ in range(60):
        old_lines = [
            " ".join(rng.choice(words) for _ in range(rng.randint(0, 80)))
            for _ in range(rng.randint(0, 25))
        ]
        new_lines = list(old_lines)
        for _ in range(rng.randint(1, 6)):
            k = rng.randrange(len(new_lines) + 1)
            if rng.random() < 0.3 or not new_lines or k == len(new_lines):
                new_lines.insert(k, " ".join(rng.choice(words) for _ in range(20)))
            else:
                line = new_lines[k].split(" ")
                for _ in range(rng.randint(1, 8)):
                    line[rng.randrange(len(line))] = rng.choice([*words, "zeta", ""])
                new_lines[k] = " ".join(line)
        pairs.append(("\n".join(old_lines), "\n".join(new_lines)))

    compiled = [diff_text(old, new, context=2) for old, new in pairs]
    monkeypatch.setattr(module, "SequenceMatcher", difflib.SequenceMatcher)

    assert compiled == [diff_text(old, new, context=2) for old, new in pairs]
