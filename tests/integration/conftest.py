"""The sandbox, brought up once per test session through the operator's command."""

import pytest

from .sandbox_client import Sandbox, invoke

# Small enough to sync in seconds, big enough to have nested folders and odd names.
TEST_MEDIA_FILES = 400


def pytest_collection_modifyitems(items):
    for item in items:
        if "integration" in str(item.fspath):
            item.add_marker(pytest.mark.integration)


@pytest.fixture(scope="session")
def sandbox(project_root) -> Sandbox:
    result = invoke(project_root, "sandbox.up", f"--media-files={TEST_MEDIA_FILES}")
    assert result.stdout.strip().splitlines()[-1].startswith("sandbox ready")
    return Sandbox.load(project_root)


@pytest.fixture(scope="session")
def ministack_store(sandbox, tmp_path_factory):
    """One MiniStack (AWS semantics, with auth) for the MiniStack modules: started once (~15 s), stopped at the end."""
    from deploy.sandbox import ministack
    with ministack.running(sandbox.project_root, tmp_path_factory.mktemp("ministack") / "data") as store:
        yield store
