"""Old media URLs in a text: where each is, the file it names, and the text with some of them replaced.

The text part of content_url_tool.py, which runs it inside the site; sent before it (``manage.py shell -c``
gets both texts, this one first) or imported from beside it when the tool runs as a file.  The stdlib
only: the unit tests run it without Django.

An old media URL is the disk MEDIA_URL's path followed by a file's name, in one of three forms:

    /media/uploads/a.png                       relative (only when MEDIA_URL itself is a path)
    https://www.example.com/media/uploads/a.png, //www.example.com/media/...   on one of the old hosts

wherever it stands: an HTML attribute (``src``, ``href``, each URL of a ``srcset``), markdown
``![](...)``, CSS ``url(...)``, a JSON string, plain text.  A URL on another host (a CDN, the bucket, a
copy of the path under another site) is not one; nor is the path inside a longer path (``/x/media/``).
The URL ends where HTML, JSON or prose would end it (quotes, whitespace, ``<>``, an entity such as
``&quot;``, unbalanced parentheses, trailing punctuation), but right after a " (and at the start of a
JSONField's string) an apostrophe is the name's: Django leaves it as it is in the URLs it renders.
``?query`` and ``#fragment`` are kept apart and left as they are.  The name is the rest of the path with HTML
entities and %-escapes decoded.
"""

import hashlib
import html
import json
import re
from collections import namedtuple
from urllib.parse import unquote, urlsplit

# Entities that end an attribute's value (a JSON text inside an HTML attribute: &quot;...&quot;).
_ENDING_ENTITY = r"&(?:quot|apos|lt|gt|#0*3[49]|#[xX]0*2[27]);"
_STOPS = r"""\s"'<>()\[\]{}\\`|^"""          # where HTML, JSON, markdown or prose end a URL
# Inside a double-quoted attribute or JSON string (the URL right after a "), an apostrophe is the name's:
# Django's filepath_to_uri leaves it as it is (photo's%20(1).png), and &#39; there is one too.
_QUOTED_ENDING_ENTITY = r"&(?:quot|lt|gt|#0*34|#[xX]0*22);"
_QUOTED_STOPS = _STOPS.replace("'", "")
_APOSTROPHE = r"&(?:apos|#0*39|#[xX]0*27);"


def _url_tail(stops, ending, entity=None):
    """(the path, the ?query/#fragment) patterns of a URL that ``stops`` characters and ``ending`` entities end;
    ``entity``, one that is a character of the path (its # is not a fragment's).

    The path: no stop, ? or #, and an "&" only where no ending entity starts.  Runs of plain characters, the
    look-ahead only at an "&" (tried at every character, one at a time, it made the match three times slower).
    Within parentheses one character at a time: a run there, in a loop, would backtrack exponentially on an
    unclosed "(".  The path group never backtracks: everything after it is optional."""
    not_ending_amp = r"(?!" + ending + r")&"
    entities = (entity + r"|" if entity else "") + not_ending_amp
    char = r"(?:[^?#&" + stops + r"]|" + entities + r")"
    path = r"(?:[^?#&" + stops + r"]+|" + entities + r"|\(" + char + r"*\))"   # "photo (1).jpg": balanced parentheses stay in
    rest = r"(?:[^&" + stops + r"]+|" + not_ending_amp + r")"
    return path, rest


NAMES_CACHED = 100000   # distinct paths whose names a Forms keeps (a path is decoded once, not at each URL)
_TRAILING = ".,;:!"                                 # "see /media/a.pdf." in prose: the full stop is not the name's
_HOST = r"(?P<host>\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9](?:[A-Za-z0-9.-]*[A-Za-z0-9])?)(?::(?P<port>[0-9]+))?"

Occurrence = namedtuple("Occurrence", "start end raw host name ours")
# start, end: the span replaced by a rewrite (scheme, host and path; never the ?query or #fragment);
# raw: that text; host: "name" or "name:port" lower-cased, None when relative; name: the file's name
# (None when it cannot be one: empty, absolute, with a ".." segment); ours: an old media URL.


class Forms:
    """The old media URLs of one site: its disk MEDIA_URL (a path such as /media/, or an absolute URL)
    and the hosts it was served from (names, or name:port)."""

    def __init__(self, media_url, hosts=()):
        parts = urlsplit(media_url)
        self.path = parts.path if parts.path.endswith("/") else parts.path + "/"
        if not self.path.startswith("/"):
            self.path = "/" + self.path
        self.hosts = set(host.strip().lower() for host in hosts if host and host.strip())
        if parts.netloc:
            self.hosts.add(parts.netloc.lower())
        # A relative URL is an old media URL only when MEDIA_URL is a path: with an absolute MEDIA_URL
        # (https://media.example.com/) a relative /uploads/... is the site's own page, not a file.
        self.relative = not parts.netloc and self.path != "/"
        if not self.relative and not self.hosts:
            raise ValueError("MEDIA_URL %r: a relative URL cannot be told from the site's own pages, and no "
                             "host was given to look for" % media_url)
        relative = r"|(?<![\w.:/@%~-])" if self.relative else ""
        start = r"(?:(?<![\w.+:/-])(?P<scheme>(?i:https?:))?//" + _HOST + relative + r")" + re.escape(self.path)
        self.pattern = re.compile(start + r"(?P<path>%s+)(?P<rest>[?#]%s*)?" % _url_tail(_STOPS, _ENDING_ENTITY))
        self.quoted = re.compile(start + r"(?P<path>%s+)(?P<rest>[?#]%s*)?"
                                 % _url_tail(_QUOTED_STOPS, _QUOTED_ENDING_ENTITY, _APOSTROPHE))
        self._names = {}

    def database_terms(self):
        """(text, case-insensitive?) pairs, one of which every value holding an old media URL contains:
        the path alone when relative URLs count (every absolute form contains it too), else each host's
        "//host/path"."""
        if self.relative:
            return [(self.path, False)]
        return [("//" + host + self.path, True) for host in sorted(self.hosts)]

    def is_ours(self, host, port):
        if host is None:
            return True
        host = host.lower()
        return host in self.hosts or (port is not None and "%s:%s" % (host, port) in self.hosts)

    def occurrences(self, text, quoted=False):
        """Every media-path URL in ``text``, old or not (``ours`` tells), left to right.  ``quoted``: ``text``
        is a JSON string's content (a JSONField's), as if a " stood before it."""
        done = 0
        for match in self._matches(text):
            if match.start() < done:   # within the longer match before it
                continue
            if text[match.start() - 1:match.start()] == '"' or (quoted and match.start() == 0):  # a "..." string's
                match = self.quoted.match(text, match.start()) or match
            done = match.end()
            end = match.end("path")
            if not match.group("rest"):  # trailing punctuation belongs to the prose, not the name
                while end > match.start("path") + 1 and text[end - 1] in _TRAILING:
                    end -= 1
            host, port = match.group("host"), match.group("port")
            path = text[match.start("path"):end]
            yield Occurrence(match.start(), end, text[match.start():end],
                             None if host is None else host.lower() + (":" + port if port else ""),
                             self.name(path), self.is_ours(host, port))

    def _matches(self, text):
        """``self.pattern.finditer(text)``, its very matches, the pattern tried only where one can start.

        The pattern starts with a look-behind and alternatives, so ``re`` would try it at every character of
        the text; every match holds the media path, found here by ``str.find``.  A match whose path is at
        ``hit`` starts at ``hit`` (relative), or at the "//" before its host (the last "//" before ``hit``:
        a host holds no "/"), or at the scheme (http: or https:) just before that "//".  A match that starts
        before ``hit`` with its path further on has ``hit`` in its "//" (the path begins with "/"): a "//"
        at ``hit - 1`` or ``hit``, or its scheme.  The first of these that matches is the leftmost match;
        none: no match starts at or before ``hit``."""
        path, match_at, position = self.path, self.pattern.match, 0
        while True:
            hit = text.find(path, position)
            if hit < 0:
                return
            starts = [hit]
            slashes = text.rfind("//", position, hit)
            if slashes >= 0 and text.find("/", slashes + 2, hit) < 0:
                starts += _with_scheme(text, slashes)
            if hit >= 1 and text.startswith("//", hit - 1):
                starts += _with_scheme(text, hit - 1)
            if text.startswith("//", hit):
                starts += _with_scheme(text, hit)
            for start in sorted(starts) if len(starts) > 1 else starts:
                match = match_at(text, start) if start >= position else None
                if match:
                    yield match
                    position = match.end()  # never empty: the path is in every match
                    break
            else:
                position = hit + 1

    def name(self, path):
        """``name_of(path)``, each distinct path decoded once (up to NAMES_CACHED of them)."""
        try:
            return self._names[path]
        except KeyError:
            if len(self._names) >= NAMES_CACHED:
                self._names.clear()
            name = self._names[path] = name_of(path)
            return name

    def replaced(self, value, urls, counts=None, quoted=False):
        """``value`` (a str, or a JSON value whose strings are looked at) with each old media URL whose
        name ``urls`` maps replaced by its new URL; anything else, ?query and #fragment too, unchanged.
        ``counts``, a list [replaced, left], gets the old media URLs replaced and those left (a name not
        mapped, or none) added: what a find would count in the value before, and after.  ``quoted``: a
        JSONField's value (its strings are JSON strings: ``occurrences``)."""
        if isinstance(value, str):
            if self.path not in value:  # every occurrence holds the media path (a JSON value's other strings)
                return value
            pieces, last, left = [], 0, 0
            for found in self.occurrences(value, quoted):
                if not found.ours:
                    continue
                new = urls.get(found.name) if found.name is not None else None
                if new is not None:
                    pieces += [value[last:found.start], new]
                    last = found.end
                else:
                    left += 1
            if counts is not None:
                counts[0] += len(pieces) // 2
                counts[1] += left
            return "".join(pieces) + value[last:] if pieces else value
        if isinstance(value, list):
            return [self.replaced(item, urls, counts, True) for item in value]
        if isinstance(value, dict):  # keys stay: a URL as a key is not a reference a rewrite should move
            return {key: self.replaced(item, urls, counts, True) for key, item in value.items()}
        return value


def _with_scheme(text, slashes):
    """Where a URL whose "//" is at ``slashes`` can start: there, or at the http: or https: before it."""
    for scheme in ("https:", "http:"):
        if slashes >= len(scheme) and text[slashes - len(scheme):slashes].lower() == scheme:
            return [slashes, slashes - len(scheme)]
    return [slashes]


def name_of(path):
    """The file's name a URL's path (after MEDIA_URL) names: HTML entities and %-escapes decoded; None
    when it cannot be a name under MEDIA_ROOT."""
    name = unquote(html.unescape(path))
    if not name or name.startswith("/") or "\x00" in name or ".." in name.split("/"):
        return None
    return name


def strings(value):
    """The strings of a JSON value (dict values, list items, in order), or the value itself when it is one."""
    if isinstance(value, str):
        return [value]
    found, pending = [], [value]
    while pending:  # a stack, not nested generators: a JSON value's strings are read for every row
        item = pending.pop()
        if isinstance(item, str):
            found.append(item)
        elif isinstance(item, list):
            pending.extend(reversed(item))
        elif isinstance(item, dict):
            pending.extend(reversed(list(item.values())))
    return found


def value_hash(value):
    """A field's value as the rewrite compares it with its plan: sha256 of its canonical JSON."""
    canonical = json.dumps(value, sort_keys=True, ensure_ascii=False, separators=(",", ":"), default=str)
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()
