"""The rollback's room check, judged (deploy/media/space.py)."""

from deploy.media.space import BLOCK, MARGIN_FLOOR, needed, room_problem


def test_each_files_last_block_and_a_margin_are_counted():
    assert needed(1, 1) == 1 + BLOCK + MARGIN_FLOOR
    big = 10 ** 9
    assert needed(1000, big) == (big + 1000 * BLOCK) * 51 // 50


def test_a_download_that_does_not_fit_is_one_line_naming_host_directory_needed_and_free():
    problem = room_problem("web1", "~/webapps/media", 412, 23_000_000, 9_000_000)
    assert problem == ("web1: the download needs 25,736,128 bytes in ~/webapps/media (412 files, 23,000,000 bytes, "
                       "with a margin) but its filesystem has 9,000,000 bytes free: free some space or grow the "
                       "filesystem, then run the rollback again; nothing was changed")
    assert "\n" not in problem


def test_one_that_fits_or_nothing_to_bring_is_no_problem():
    assert room_problem("web1", "/m", 412, 23_000_000, needed(412, 23_000_000)) is None
    assert room_problem("web1", "/m", 0, 0, 0) is None
