"""The verify before the flip takes the upload's accounting only when it covers every file of the tree."""

from deploy.media.accounting import UploadAccount, accounts_for_tree, summary_lines, why_not


def account(**changes) -> UploadAccount:
    values = dict(tool="rclone", tree_files=100, transferred=60, checked=40, errors=0)
    values.update(changes)
    return UploadAccount(**values)


def test_every_file_uploaded_or_found_without_error_accounts_for_the_tree():
    assert accounts_for_tree(account())
    # files that reached the disk during the copy are counted by rclone, not by the scan before it
    assert accounts_for_tree(account(transferred=65))


def test_anything_short_takes_the_listing():
    assert not accounts_for_tree(None)
    assert not accounts_for_tree(account(checked=39))          # a file went between the scan and the copy
    assert not accounts_for_tree(account(errors=1))
    assert not accounts_for_tree(account(checked=None))        # the tool did not say
    assert not accounts_for_tree(account(tool="s5cmd"))        # exits 0 on failed objects
    assert not accounts_for_tree(account(tool="s3cmd"))


def test_why_not_names_the_reason():
    assert "--checksum" in why_not(account(), checksum=True)
    assert "s5cmd" in why_not(account(tool="s5cmd"), checksum=False)
    assert "2 errors" in why_not(account(errors=2), checksum=False)
    assert "99 files of the 100" in why_not(account(checked=39), checksum=False)
    assert "no upload" in why_not(None, checksum=False)


def test_summary_says_what_was_counted_and_where_the_full_comparison_went():
    first, second = summary_lines(account())
    assert "100 (60 uploaded, 40 already there" in first and "0 errors" in first
    assert "after the health check" in second
