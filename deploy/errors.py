"""The project's own exceptions.

Each carries the operator-facing message as ``str(exc)``: one line that names
the host, file, key or value, says what was expected and what to do.  The task
layer (``deploy.cli``) turns them into a clean exit; anything else is our bug
and keeps its traceback.
"""


class MediaCutoverError(Exception):
    """Base: carries the operator-facing message (str(exc))."""


class ConfigError(MediaCutoverError):
    """The environment's configuration is missing, unknown or malformed."""


class PreflightError(MediaCutoverError):
    """A check before any change failed; nothing was changed."""


class SettingsFileError(PreflightError):
    """A site settings file we cannot safely edit."""


class SwitchMissing(SettingsFileError):
    """The settings file has no assignment of the switch at all (for the mirror's switch: no mirror)."""


class RemoteError(MediaCutoverError):
    """A command on a remote host failed."""


class VerifyError(MediaCutoverError):
    """The bucket does not hold what the media tree holds."""


class LockError(MediaCutoverError):
    """Another run holds the environment's lock."""


class SandboxError(MediaCutoverError):
    """The local sandbox could not be brought up, reached or taken down."""


class StorageCheckError(MediaCutoverError):
    """The switched settings do not select the storage the run switches to (``deploy.site.ops.storage``)."""


class HealthError(MediaCutoverError):
    """A site did not come back healthy in the expected storage mode."""


class StoreUnavailable(MediaCutoverError):
    """The store answered a request with transient faults (500, 502, 503, 504, SlowDown, a reset, a timeout)
    until the retries ran out (``deploy.retry``): the message names the last answer (status, the store's
    error code and message, or the network error by name) and the attempts.  Not a refusal: the store was
    not saying no, it was not answering well."""


class ProvisionError(MediaCutoverError):
    """Creating or checking the bucket, its policy or the IAM user failed or was refused."""


class UndoUnconfirmed(MediaCutoverError):
    """An undo that put everything back, but could not see some of it take effect.

    ``done`` says what it did (one line each: settings restored byte-identical, sites
    reloaded back, uploads carried back); ``unconfirmed`` what it could not confirm,
    and why (a health URL of the old mode that answers 404 or nothing).  Not a failure
    of the undo: the runner reports it under its own heading (``StepFailed``).
    """

    def __init__(self, done: list[str], unconfirmed: list[str]):
        self.done, self.unconfirmed = list(done), list(unconfirmed)
        super().__init__("not confirmed: " + "; ".join(self.unconfirmed))


class StepFailed(MediaCutoverError):
    """A step of a run failed; ``undone`` tells what was put back (``deploy.engine.runner``).

    ``restored`` and ``unconfirmed`` come from undos that put everything back but could
    not confirm all of it (``UndoUnconfirmed``): what they did, and what could not be seen, and why.
    """

    def __init__(self, step: str, reason: str, undone: list[str], undo_failures: list[str],
                 unconfirmed: list[str] = (), restored: list[str] = ()):
        self.step, self.reason, self.undone, self.undo_failures = step, reason, undone, undo_failures
        self.unconfirmed, self.restored = list(unconfirmed), list(restored)
        message = f"step '{step}' failed: {reason}"
        if undone:
            message += f"\nundone: {', '.join(undone)}"
        if undo_failures:
            message += "\nUNDO FAILED, the environment needs a look: " + "; ".join(undo_failures)
            if self.unconfirmed:
                message += "\nnot confirmed either: " + "; ".join(self.unconfirmed)
        elif self.unconfirmed:
            if self.restored:
                message += "\nrestored: " + "; ".join(self.restored)
            message += ("\nnot confirmed: " + "; ".join(self.unconfirmed)
                        + "\neverything else is back as it was before the run; only the above could not be seen")
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
