"""Unit tests for deploy.media.compare: the streaming merge-join and manifest parsing."""

import time
import tracemalloc

import pytest

from deploy.errors import VerifyError
from deploy.media.compare import Entry, SizeMismatch, compare, object_key, parse_manifest_lines, plain_md5_etag


def entries(*pairs, etag=None):
    return [Entry(key, size, etag) for key, size in pairs]


def only_once(items):
    """A one-shot iterator: compare must stream, not index or re-iterate."""
    yield from items


# --- compare ---------------------------------------------------------------

def test_identical_listings_are_ok():
    side = entries(("m/a", 1), ("m/b", 20), ("m/c", 300))
    report = compare(only_once(side), only_once(side))
    assert report.ok
    assert (report.local_count, report.local_bytes) == (3, 321)
    assert (report.remote_count, report.remote_bytes) == (3, 321)
    assert report.matched == 3
    assert report.missing.count == report.extra.count == report.size_mismatch.count == 0


def test_missing_keys_fail_and_are_named():
    local = entries(("a", 1), ("b", 2), ("c", 3), ("d", 4))
    remote = entries(("b", 2), ("d", 4))
    report = compare(local, remote)
    assert not report.ok
    assert report.missing.count == 2
    assert report.missing.samples == ["a", "c"]
    assert report.matched == 2


def test_missing_at_the_end_after_remote_runs_out():
    report = compare(entries(("a", 1), ("z", 1)), entries(("a", 1)))
    assert report.missing.samples == ["z"]
    assert not report.ok


def test_extra_keys_are_reported_but_not_a_failure():
    report = compare(entries(("b", 2)), entries(("a", 1), ("b", 2), ("c", 3)))
    assert report.ok
    assert report.extra.count == 2
    assert report.extra.samples == ["a", "c"]
    assert (report.remote_count, report.remote_bytes) == (3, 6)


def test_size_mismatch_fails_with_both_sizes():
    report = compare(entries(("a", 1), ("b", 2)), entries(("a", 1), ("b", 0)))
    assert not report.ok
    assert report.size_mismatch.count == 1
    assert report.size_mismatch.samples == [SizeMismatch("b", 2, 0)]
    assert report.matched == 1


def test_empty_inputs():
    report = compare(iter(()), iter(()))
    assert report.ok
    assert (report.local_count, report.remote_count, report.matched) == (0, 0, 0)


def test_empty_bucket_means_everything_is_missing():
    report = compare(entries(("a", 1), ("b", 1)), iter(()))
    assert not report.ok
    assert report.missing.count == 2


def test_empty_local_with_objects_is_ok_with_extras():
    report = compare(iter(()), entries(("a", 1)))
    assert report.ok
    assert report.extra.count == 1


def test_samples_are_capped_but_counts_are_not():
    local = entries(*((f"k{i:04d}", 1) for i in range(100)))
    report = compare(local, iter(()), sample_limit=5)
    assert report.missing.count == 100
    assert report.missing.samples == ["k0000", "k0001", "k0002", "k0003", "k0004"]


def test_keys_are_compared_in_utf8_byte_order_not_path_order():
    # "a b" < "a-b" < "a/x" < "a0" < "ab" < "é" in UTF-8 bytes.
    keys = ["a", "a b", "a-b", "a/x", "a0", "ab", "z", "é", "\uffff", "\U0001f600"]
    assert keys == sorted(keys, key=lambda k: k.encode("utf-8"))
    side = entries(*((k, 1) for k in keys))
    report = compare(only_once(side), only_once(side))
    assert report.ok and report.matched == len(keys)


def test_full_keys_with_prefix_merge_correctly():
    # With a prefix, "media/a b" sorts before "media/a/x"; both sides must agree.
    local = parse_manifest_lines(["1\ta b\n", "2\ta/x\n"], "media")
    remote = entries(("media/a b", 1), ("media/a/x", 2))
    report = compare(local, remote)
    assert report.ok and report.matched == 2


@pytest.mark.parametrize("side", ["local", "remote"])
def test_unsorted_input_is_refused_naming_the_key(side):
    bad = entries(("a", 1), ("c", 1), ("b", 1))
    good = entries(("a", 1), ("b", 1), ("c", 1))
    local, remote = (bad, good) if side == "local" else (good, bad)
    with pytest.raises(VerifyError) as caught:
        compare(local, remote)
    message = str(caught.value)
    assert "not sorted" in message
    assert "'b' at entry 3 comes after 'c'" in message
    assert ("local manifest" if side == "local" else "bucket listing") in message


def test_path_order_instead_of_byte_order_is_refused():
    # os.walk-style order puts "a/x" before "a b"; that is not the bucket's order.
    with pytest.raises(VerifyError, match="not sorted"):
        compare(entries(("a/x", 1), ("a b", 1)), iter(()))


@pytest.mark.parametrize("side", ["local", "remote"])
def test_duplicate_keys_are_refused(side):
    dup = entries(("a", 1), ("b", 1), ("b", 1))
    local, remote = (dup, iter(())) if side == "local" else (iter(()), dup)
    with pytest.raises(VerifyError, match="repeats key 'b' at entry 3"):
        compare(local, remote)


def test_md5_check_counts_checked_mismatched_and_not_comparable():
    local = entries(("a", 1), ("b", 1), ("c", 1), ("d", 2))
    remote = entries(("a", 1), ("b", 1), ("c", 1), ("d", 3))
    verdicts = {"a": True, "b": False, "c": None}
    calls = []

    def check(left, right):
        calls.append(left.key)
        return verdicts[left.key]

    report = compare(local, remote, check_md5=check)
    assert calls == ["a", "b", "c"]  # not called for the size mismatch
    assert report.md5_checked == 2
    assert report.md5_mismatch.count == 1 and report.md5_mismatch.samples == ["b"]
    assert report.md5_not_comparable == 1
    assert not report.ok


def test_md5_all_good_is_ok():
    side = entries(("a", 1))
    report = compare(side, side, check_md5=lambda left, right: True)
    assert report.ok and report.md5_checked == 1


def test_summary_lines_for_a_failure():
    local = entries(("a", 1), ("b", 2048), ("c", 3))
    remote = entries(("b", 2000), ("c", 3), ("x", 9))
    lines = compare(local, remote, sample_limit=1).summary_lines()
    assert lines[0] == "local:  3 files, 2.0 KiB (2,052 B)"
    assert lines[1] == "bucket: 3 objects, 2.0 KiB (2,012 B)"
    assert "missing from bucket: 1" in lines
    assert "  - a" in lines
    assert "  - b: local 2,048 B, bucket 2,000 B" in lines
    assert "extra in bucket (not a failure): 1" in lines
    assert lines[-1].startswith("FAILED")


def test_summary_lines_say_how_many_samples_were_left_out():
    lines = compare(entries(*((f"k{i}", 1) for i in range(5))), iter(()),
                    sample_limit=2).summary_lines()
    assert "  ... and 3 more" in lines


def test_summary_lines_for_success_mention_md5_only_when_checked():
    side = entries(("a", 1))
    assert compare(side, side).summary_lines()[-1].startswith("OK")
    assert not any(line.startswith("md5") for line in compare(side, side).summary_lines())
    lines = compare(side, side, check_md5=lambda left, right: None).summary_lines()
    assert "md5: 0 checked, 0 mismatched, 1 not comparable (multipart or no plain ETag)" in lines


def _stream(count, prefix, size=lambda i: i):
    for i in range(count):
        yield Entry(f"{prefix}/{i:08d}.jpg", size(i))


def test_200k_entries_stream_in_constant_memory_and_fast():
    count = 200_000
    tracemalloc.start()
    started = time.perf_counter()
    try:
        report = compare(_stream(count, "media"), _stream(count, "media",
                                                          size=lambda i: i + (i % 1000 == 0)))
        elapsed = time.perf_counter() - started
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert report.local_count == report.remote_count == count
    assert report.size_mismatch.count == 200
    assert len(report.size_mismatch.samples) == 20
    # Holding 200k keys in a dict or list would take tens of MB.
    assert peak < 2 * 1024 * 1024, f"peak {peak} bytes: compare is materialising its input"
    assert elapsed < 10


# --- parse_manifest_lines --------------------------------------------------

def test_parse_lines_with_prefix():
    lines = [b"0\tempty.txt\n", "12\tphotos/Grüße 1.jpg\n", b"5\tdir/a\tb.txt\n"]
    assert list(parse_manifest_lines(lines, "media")) == [
        Entry("media/empty.txt", 0), Entry("media/photos/Grüße 1.jpg", 12),
        Entry("media/dir/a\tb.txt", 5)]


def test_parse_lines_without_prefix_has_no_leading_slash():
    assert list(parse_manifest_lines([b"3\ta/b.png"], "")) == [Entry("a/b.png", 3)]


def test_parse_keeps_carriage_returns_in_names():
    assert list(parse_manifest_lines([b"1\tx\r\n"], "")) == [Entry("x\r", 1)]


def test_parse_skips_empty_lines():
    assert list(parse_manifest_lines(b"1\ta\n\n2\tb\n".split(b"\n"), "p")) == [
        Entry("p/a", 1), Entry("p/b", 2)]


@pytest.mark.parametrize("bad", [b"12 a.jpg\n", b"\ta.jpg\n", b"12\t\n", b"-1\ta\n", b"1.5\ta\n",
                                 b" 1\ta\n", "\u00b2\ta\n".encode(), b"12\n"])
def test_malformed_line_names_its_number(bad):
    with pytest.raises(VerifyError, match="media manifest line 2: expected"):
        list(parse_manifest_lines([b"1\tok\n", bad], "media"))


def test_invalid_utf8_line_names_its_number():
    with pytest.raises(VerifyError, match="media manifest line 1: not valid UTF-8"):
        list(parse_manifest_lines([b"1\t\xff\n"], ""))


def test_parse_is_lazy():
    def lines():
        yield b"1\ta\n"
        raise AssertionError("read past the first entry")

    assert next(parse_manifest_lines(lines(), "")) == Entry("a", 1)


def test_object_key_refuses_a_trailing_slash_prefix():
    assert object_key("media", "a.jpg") == "media/a.jpg"
    with pytest.raises(ValueError):
        object_key("media/", "a.jpg")


# --- plain_md5_etag --------------------------------------------------------

@pytest.mark.parametrize("etag, expected", [
    ('"9E107D9D372BB6826BD81D3542A419D6"', "9e107d9d372bb6826bd81d3542a419d6"),
    ("9e107d9d372bb6826bd81d3542a419d6", "9e107d9d372bb6826bd81d3542a419d6"),
    ('"9e107d9d372bb6826bd81d3542a419d6-3"', None),
    ('"9e107d9d372bb6826bd81d3542a419d"', None),
    ('"9e107d9d372bb6826bd81d3542a419dz"', None),
    ('""', None),
    (None, None),
])
def test_plain_md5_etag(etag, expected):
    assert plain_md5_etag(etag) == expected


def test_path_order_merges_a_directory_by_directory_listing():
    from deploy.media.compare import UnsortedListing
    # SeaweedFS lists "m/a/x" before "m/a b"; in byte order that is unsorted.
    local = [Entry("m/a/x", 1), Entry("m/a b", 2), Entry("m/ab", 3)]
    remote = [Entry("m/a/x", 1), Entry("m/a b", 2), Entry("m/ab", 4)]
    report = compare(iter(local), iter(remote), order="path")
    assert (report.matched, report.size_mismatch.count, report.missing.count) == (2, 1, 0)
    with pytest.raises(UnsortedListing) as error:
        compare(iter(local), iter(remote), order="bytes")
    assert error.value.side == "local manifest"


def test_manifest_lines_with_md5_carry_the_digest():
    digest = "0" * 31 + "a"
    entries = list(parse_manifest_lines([f"3\t{digest}\ta b/c.jpg\n".encode()], "media", with_md5=True))
    assert entries == [Entry("media/a b/c.jpg", 3, digest)]
    with pytest.raises(VerifyError, match="line 1"):
        list(parse_manifest_lines(["3\tnot-a-digest\tx.jpg\n"], "media", with_md5=True))


def test_same_md5_compares_only_plain_etags():
    from deploy.media.compare import same_md5
    digest = "d41d8cd98f00b204e9800998ecf8427e"
    assert same_md5(Entry("k", 0, digest), Entry("k", 0, f'"{digest}"')) is True
    assert same_md5(Entry("k", 0, digest), Entry("k", 0, '"' + "1" * 32 + '"')) is False
    assert same_md5(Entry("k", 0, digest), Entry("k", 0, '"' + "1" * 32 + '-3"')) is None
