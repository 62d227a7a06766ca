"""The project's own exceptions.

Each carries the operator-facing message as ``str(exc)``: one line that names
the host, file, key or value, says what was expected and what to do.  The task
layer (``deploy.cli``) turns them into a clean exit; anything else is our bug
and keeps its traceback.
"""


class MediaCutoverError(Exception):
    """Base: carries the operator-facing message (str(exc))."""


# The base's name before issue 11: code written against it (a branch started earlier) still imports.
CutoverError = MediaCutoverError


class ConfigError(MediaCutoverError):
    """The environment's configuration is missing, unknown or malformed."""


class PreflightError(MediaCutoverError):
    """A check before any change failed; nothing was changed."""


class SettingsFileError(PreflightError):
    """A site settings file we cannot safely edit."""


class RemoteError(MediaCutoverError):
    """A command on a remote host failed."""


class VerifyError(MediaCutoverError):
    """The bucket does not hold what the media tree holds."""


class LockError(MediaCutoverError):
    """Another run holds the environment's lock."""


class SandboxError(MediaCutoverError):
    """The local sandbox could not be brought up, reached or taken down."""


class HealthError(MediaCutoverError):
    """A site did not come back healthy in the expected storage mode."""


class ProvisionError(MediaCutoverError):
    """Creating or checking the bucket, its policy or the IAM user failed or was refused."""


class StepFailed(MediaCutoverError):
    """A step of a run failed; ``undone`` tells what was put back (``deploy.engine.runner``)."""

    def __init__(self, step: str, reason: str, undone: list[str], undo_failures: list[str]):
        self.step, self.reason, self.undone, self.undo_failures = step, reason, undone, undo_failures
        message = f"step '{step}' failed: {reason}"
        if undone:
            message += f"\nundone: {', '.join(undone)}"
        if undo_failures:
            message += "\nUNDO FAILED, the environment needs a look: " + "; ".join(undo_failures)
        elif undone:
            message += "\nevery host is back as it was before the run"
        else:
            message += "\nnothing had been changed"
        super().__init__(message)


class HostsFailed(MediaCutoverError):
    """One action ran on several hosts at once and failed on some (``Run.on_every_host``).

    ``results`` maps every host, in order, to what the action returned or to the
    error it raised, as fabric's ``GroupException.result`` does; the message is
    every failing host's own message, one a line.
    """

    def __init__(self, results: dict[str, object]):
        self.results = results
        super().__init__("\n".join(str(error) for error in self.failures.values()))

    @property
    def failures(self) -> dict[str, MediaCutoverError]:
        return {alias: result for alias, result in self.results.items() if isinstance(result, BaseException)}
