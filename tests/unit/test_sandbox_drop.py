"""The sandbox reset's one-request empty never takes the whole bucket."""

from deploy.sandbox import s3store


def test_no_prefix_is_refused_before_any_request(monkeypatch):
    def no_request(*args, **kwargs):
        raise AssertionError("no request may be sent")
    monkeypatch.setattr(s3store.urllib.request, "urlopen", no_request)
    assert s3store.drop_directory("media-cutover-sandbox", "") is False
    assert s3store.drop_directory("media-cutover-sandbox", "/") is False
