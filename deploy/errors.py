"""The project's own exceptions.

Each carries the operator-facing message as ``str(exc)``: one line that names
the host, file, key or value, says what was expected and what to do.  The task
layer (``deploy.cli``) turns them into a clean exit; anything else is our bug
and keeps its traceback.
"""


class CutoverError(Exception):
    """Base: carries the operator-facing message (str(exc))."""


class ConfigError(CutoverError):
    """The environment's configuration is missing, unknown or malformed."""


class PreflightError(CutoverError):
    """A check before any change failed; nothing was changed."""


class SettingsFileError(PreflightError):
    """A site settings file we cannot safely edit."""


class RemoteError(CutoverError):
    """A command on a remote host failed."""


class VerifyError(CutoverError):
    """The bucket does not hold what the media tree holds."""


class LockError(CutoverError):
    """Another run holds the environment's lock."""


class SandboxError(CutoverError):
    """The local sandbox could not be brought up, reached or taken down."""


class HealthError(CutoverError):
    """A site did not come back healthy in the expected storage mode."""


class ProvisionError(CutoverError):
    """Creating or checking the bucket, its policy or the IAM user failed or was refused."""
