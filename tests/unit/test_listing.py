"""The fast bucket listing: pages parsed with ElementTree, sub-prefixes listed in parallel, yielded in order."""

import threading
from types import SimpleNamespace

import pytest

from deploy.errors import RemoteError
from deploy.media.compare import Entry
from deploy.store.listing import _put, expand, listing, parse_page

PAGE = b"""<?xml version="1.0" encoding="UTF-8"?>
<ListBucketResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/">
  <Name>b</Name><Prefix>media/</Prefix><KeyCount>2</KeyCount><MaxKeys>2</MaxKeys>
  <EncodingType>url</EncodingType><IsTruncated>true</IsTruncated>
  <Contents><Key>media/caf%C3%A9%20menu.jpg</Key><Size>12</Size><ETag>"abc"</ETag></Contents>
  <Contents><Key>media/odd%01key+2.txt</Key><Size>0</Size><ETag>"d41d"</ETag></Contents>
  <Contents><Key>media/empty/</Key><Size>0</Size><ETag>""</ETag></Contents>
  <CommonPrefixes><Prefix>media/photos/</Prefix></CommonPrefixes>
  <NextContinuationToken>next-1</NextContinuationToken>
</ListBucketResult>"""


def test_a_page_gives_decoded_keys_sizes_etags_prefixes_and_the_next_token_but_no_folder_marker():
    entries, prefixes, token = parse_page(PAGE)
    assert entries == [Entry("media/café menu.jpg", 12, '"abc"'), Entry("media/odd\x01key 2.txt", 0, '"d41d"')]
    assert prefixes == ["media/photos/"] and token == "next-1"


def test_the_last_page_has_no_token_and_plain_keys_stay_as_they_are():
    last = PAGE.replace(b"<EncodingType>url</EncodingType>", b"").replace(b"<IsTruncated>true", b"<IsTruncated>false")
    entries, _, token = parse_page(last.replace(b"caf%C3%A9%20menu", b"100%25"))
    assert token is None and entries[0].key == "media/100%25.jpg"


# A bucket as a store that lists in path order (SeaweedFS) or byte order (AWS) would.
KEYS = ["media/a.jpg", "media/a/1.jpg", "media/a/b/2.jpg", "media/a-b/3.jpg", "media/z.jpg", "media/a/c.jpg"]


class FakePages:
    """``level`` and ``stream`` over KEYS; ``wide`` prefixes are too wide to open."""

    def __init__(self, keys, order, wide=(), fail=None):
        from deploy.media.compare import ORDERS
        self.keys = sorted(keys, key=ORDERS[order])
        self.wide, self.fail, self.opened = set(wide), fail, []

    def level(self, prefix):
        self.opened.append(prefix)
        if prefix in self.wide:
            return None
        under = [key for key in self.keys if key.startswith(prefix)]
        files = [Entry(key, 1, None) for key in under if "/" not in key[len(prefix):]]
        prefixes = sorted({prefix + key[len(prefix):].split("/")[0] + "/" for key in under
                           if "/" in key[len(prefix):]})
        return files, prefixes

    def stream(self, prefix, out, stop):
        if prefix == self.fail:
            _put(out, RemoteError(f"listing {prefix} answered HTTP 503"), stop)
            return
        under = [Entry(key, 1, None) for key in self.keys if key.startswith(prefix)]
        for start in range(0, len(under), 2):  # two keys a page
            if not _put(out, under[start:start + 2], stop):
                return
        _put(out, None, stop)


SETTINGS = SimpleNamespace(media_prefix="media")


@pytest.mark.parametrize("order", ["bytes", "path"])
def test_the_listing_comes_whole_and_in_the_order_asked(order):
    from deploy.media.compare import ORDERS
    keys = KEYS + [f"media/u{n:03d}/{m}.jpg" for n in range(40) for m in range(3)]
    pages = FakePages(keys, order)
    listed = [entry.key for entry in listing(SETTINGS, order, pages)]
    assert listed == sorted(keys, key=ORDERS[order])
    assert pages.opened == ["media/"]  # 40 sub-prefixes at the first level: enough blocks for the threads
    few = FakePages(KEYS, order)
    assert [entry.key for entry in listing(SETTINGS, order, few)] == sorted(KEYS, key=ORDERS[order])
    assert {"media/", "media/a/", "media/a/b/"} <= set(few.opened)  # few blocks: it goes deeper


def test_it_does_not_open_a_level_of_many_small_directories():
    keys = [f"media/{top}/{n:03d}/1.jpg" for top in ("a", "b") for n in range(50)]  # 100 > MAX_BLOCKS
    pages = FakePages(keys, "bytes")
    assert [entry.key for entry in listing(SETTINGS, "bytes", pages)] == sorted(keys)
    assert sorted(pages.opened) == ["media/", "media/a/", "media/b/"]  # then listed flat as two blocks


def test_a_prefix_too_wide_to_open_is_listed_flat_in_order():
    pages = FakePages(KEYS, "bytes", wide={"media/"})
    assert [entry.key for entry in listing(SETTINGS, "bytes", pages)] == sorted(KEYS)
    assert pages.opened == ["media/"]


def test_expand_keeps_files_and_blocks_and_sorts_prefixes_among_files():
    pages = FakePages(KEYS, "path")
    items = expand([("dir", "media/")], pages.level, "path")
    assert items == [("file", Entry("media/a.jpg", 1, None)), ("dir", "media/a/"), ("dir", "media/a-b/"),
                     ("file", Entry("media/z.jpg", 1, None))] or \
        [value if kind != "file" else value.key for kind, value in items] == \
        ["media/a/", "media/a-b/", "media/a.jpg", "media/z.jpg"]


def test_a_failing_block_raises_its_error_to_the_comparison():
    keys = [f"media/d{n:02d}/{m}.jpg" for n in range(20) for m in range(5)]
    pages = FakePages(keys, "bytes", fail="media/d07/")
    with pytest.raises(RemoteError, match="HTTP 503"):
        list(listing(SETTINGS, "bytes", pages))


def test_stopping_early_leaves_no_listing_thread_behind():
    keys = [f"media/d{n:02d}/{m:03d}.jpg" for n in range(30) for m in range(50)]
    pages = FakePages(keys, "bytes")
    stream = listing(SETTINGS, "bytes", pages)
    assert next(stream).key == "media/d00/000.jpg"
    stream.close()
    for thread in threading.enumerate():
        if thread.name.startswith("listing"):
            thread.join(timeout=5)
    assert not [t for t in threading.enumerate() if t.name.startswith("listing") and t.is_alive()]

