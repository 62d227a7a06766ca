"""The media URLs on a page: parsed as a browser would, resolved, and sorted by storage."""

from deploy.site.facts.health import media_urls, urls_on_page

PAGE = "https://www.example.org/gallery/"
HTML = b"""<!doctype html><html><head>
<link rel="stylesheet" href="/static/css/site.d41d8cd98f00.css">
<link rel="icon" href="https://cdn.example.net/media/favicon.png">
</head><body>
<img src="/media/images/caf%C3%A9.jpg" srcset="/media/images/a-1x.jpg 1x, /media/images/a-2x.jpg 2x" alt="">
<picture><source srcset="/media/images/b.webp 480w,/media/images/b-big.webp 1024w"><img src="/media/images/b.jpg"></picture>
<a href="/media/docs/report%20final.pdf">report</a>
<a href="https://github.com/example">footer link</a>
<a href="#top">top</a> <a href="javascript:void(0)">x</a> <img src="data:image/png;base64,AAAA">
<video src="/media/video/clip.mp4" poster="/media/video/clip.jpg"></video><audio src="sound.mp3"></audio>
<div style="background: url('/media/images/bg.jpg') no-repeat"></div>
<img src="/media/images/caf%C3%A9.jpg">
</body></html>"""


def test_every_file_url_of_an_html_page_resolved_in_page_order_each_once():
    urls = urls_on_page(HTML, "text/html; charset=utf-8", PAGE)
    assert urls == [
        "https://www.example.org/static/css/site.d41d8cd98f00.css",
        "https://cdn.example.net/media/favicon.png",
        "https://www.example.org/media/images/caf%C3%A9.jpg",
        "https://www.example.org/media/images/a-1x.jpg",
        "https://www.example.org/media/images/a-2x.jpg",
        "https://www.example.org/media/images/b.webp",
        "https://www.example.org/media/images/b-big.webp",
        "https://www.example.org/media/images/b.jpg",
        "https://www.example.org/media/docs/report%20final.pdf",
        "https://github.com/example",
        "https://www.example.org/media/video/clip.mp4",
        "https://www.example.org/media/video/clip.jpg",
        "https://www.example.org/gallery/sound.mp3",
        "https://www.example.org/media/images/bg.jpg",
    ]


def test_only_urls_under_the_media_base_are_media():
    urls = urls_on_page(HTML, "text/html", PAGE)
    on_disk = media_urls(urls, "https://www.example.org/media/")
    assert "https://github.com/example" not in on_disk and len(on_disk) == 10
    assert media_urls(urls, "https://cdn.example.net/media/") == ["https://cdn.example.net/media/favicon.png"]


def test_a_base_tag_moves_relative_urls():
    body = b'<base href="https://bucket.example/"><img src="media/x.jpg">'
    assert urls_on_page(body, "text/html", PAGE) == ["https://bucket.example/media/x.jpg"]


def test_a_json_page_gives_its_url_values():
    body = b'{"files": [{"name": "a.jpg", "url": "/media/a.jpg"}, {"url": "https://b.example/media/b.jpg"}]}'
    assert urls_on_page(body, "application/json", PAGE) == [
        "https://www.example.org/media/a.jpg", "https://b.example/media/b.jpg"]


def test_a_page_in_another_charset_is_decoded_with_it():
    body = '<img src="/media/café.jpg">'.encode("latin-1")
    assert urls_on_page(body, "text/html; charset=ISO-8859-1", PAGE) == ["https://www.example.org/media/café.jpg"]
