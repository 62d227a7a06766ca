"""Shared test fixtures."""

import signal
from pathlib import Path

import pytest

PROJECT_ROOT = Path(__file__).resolve().parent.parent

# A shell without job control starts a command run with "&" with SIGINT ignored, and Python then
# installs no KeyboardInterrupt handler: the Ctrl-C tests would test nothing.  Put Python's back
# (the tests' invoke subprocesses inherit the default from here).
signal.signal(signal.SIGINT, signal.default_int_handler)


@pytest.fixture(scope="session")
def project_root() -> Path:
    return PROJECT_ROOT
