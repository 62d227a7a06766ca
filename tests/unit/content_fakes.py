"""The content's old media URLs on runs made by hand, shared by test_content_flows.py and
test_rewrite_urls_flow.py: an environment whose second host runs the site, the program's reports, a run."""

import json
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from deploy.config.load import load_settings
from deploy.engine.run import Options, Run
from deploy.flows.state import FlowState
from deploy.retry import FaultTally
from deploy.site.edits import content_urls as edits
from deploy.site.facts.content_urls import MARKER

CONFIG = """\
HOSTS=web1,web2
MEDIA_ROOT=~/webapps/media
SETTINGS_PATH=~/site/local_settings.py
RELOAD_COMMAND=true
SITE_URL=http://10.0.0.5:8001
AWS_STORAGE_BUCKET_NAME=my-media
AWS_LOCATION=media
AWS_ACCESS_KEY_ID=AKIAFILE
AWS_SECRET_ACCESS_KEY=s
MANAGE_PY__WEB2=~/site/manage.py
SITE_PYTHON__WEB2=~/venv/bin/python
DISK_MEDIA_URL=/media/
OLD_MEDIA_HOSTS=www.example.com
"""

BODY = {"field": "blog.Post.body", "type": "RichTextField", "form": "url", "candidates": 12, "rows": 10,
        "urls": 25, "examples": ["/media/a.png", "https://www.example.com/media/b.pdf", "/media/c.png"],
        "names": ["a.png", "b.pdf", "c.png"], "names_total": 3, "on_disk": 3, "missing_on_disk": [],
        "foreign_hosts": {}, "unnamed": 0}
DATA = dict(BODY, field="pages.Page.data", type="JSONField", rows=2, urls=2, examples=["/media/c.png"],
            names=["c.png"], names_total=1, on_disk=1)
ROWS = [edits.RowChange("blog.Post", "body", 1, '<img src="/media/a.png">',
                        '<img src="https://my-media.s3.amazonaws.com/media/a.png">', "h1"),
        edits.RowChange("pages.Page", "data", 7, {"hero": "/media/c.png"},
                        {"hero": "https://my-media.s3.amazonaws.com/media/c.png"}, "h2")]


@pytest.fixture(name="settings")
def settings_fixture(tmp_path: Path):
    (tmp_path / "config").mkdir()
    (tmp_path / "config" / "prod.env").write_text(CONFIG)
    return load_settings("prod", tmp_path, {})


@dataclass
class Journal:
    records: list = field(default_factory=list)

    def record(self, event):
        self.records.append(event)


@dataclass
class FakeRun:
    settings: object
    options: Options = field(default_factory=Options)
    state: FlowState = field(default_factory=FlowState)
    journal: Journal = field(default_factory=Journal)
    run_id: str = "20260102T030405Z-abcdef"
    unreachable: list = field(default_factory=list)
    faults: FaultTally = field(default_factory=FaultTally)

    targets = Run.targets

    def connection(self, alias):
        return alias


def printed(data: dict, rows=()) -> str:
    return ("5 objects imported automatically.\n" + "".join(edits.ROW_MARKER + json.dumps(row.data()) + "\n"
                                                            for row in rows) + MARKER + json.dumps(data) + "\n")
