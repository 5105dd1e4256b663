"""One pack, one install: which version the workflow's stamps pin, and when that is worth a question."""

from __future__ import annotations

from mend.core.resolve.pack_pins import pick_pin

KJ_COMMITS = ["204f6d5aae7310ad1a5ad9c7c6d1b3ca2d7ff1c2", "8660778ea191cd3a0b3c6b2fbcc2c4d33b2dc0a1"]


def test_several_commits_install_the_default_branch_without_a_question():
    # a stamped pack is certain whichever commit its nodes were saved at: say which code lands, do not ask
    version, note, ask = pick_pin(KJ_COMMITS)
    assert (version, ask) == (None, False)
    assert "default branch" in note and "204f6d5aae73" in note


def test_releases_of_one_major_install_the_newest_without_a_question():
    assert pick_pin(["1.2.2", "1.3.5"])[::2] == ("1.3.5", False)


def test_releases_of_different_majors_are_asked():
    version, note, ask = pick_pin(["1.9.0", "2.0.1"])
    assert (version, ask) == ("2.0.1", True) and "major versions differ" in note
