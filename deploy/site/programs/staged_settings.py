"""The switched settings, staged: read from stdin before Django starts, so that manage.py sees them while
the file on disk is still the old one.

stdin is one JSON object {"format", "path", "source"}.  A Python settings file is imported from the
staged source (a finder ahead of the path finder; no bytecode cache read or written); an env file's
lines are loaded as load_env_file.py loads the file, the staged switch winning.  MEDIA_CUTOVER_STAGED
then says whether the staged source was used ("imported" or "environment"), for the probe to report.

Sent after ``env_file_loader.py``, whose media_cutover_load_env it calls, and before ``run_manage_py.py``.
"""

import json, os, sys
staged = json.loads(sys.stdin.buffer.read().decode("utf-8"))
if staged["format"] == "env":
    media_cutover_load_env(staged["source"].splitlines())  # noqa: F821 (env_file_loader.py, sent before)
    os.environ["MEDIA_CUTOVER_STAGED"] = "environment"
else:
    import importlib.abc, importlib.machinery
    target = os.path.realpath(os.path.expanduser(staged["path"]))

    class StagedSettings(importlib.abc.SourceLoader):
        def __init__(self, path):
            self.path = path

        def get_filename(self, fullname):
            return self.path

        def get_data(self, path):
            if os.path.realpath(path) == target:
                os.environ["MEDIA_CUTOVER_STAGED"] = "imported"
                return staged["source"].encode("utf-8")
            with open(path, "rb") as handle:
                return handle.read()

    class StagedFinder:
        @staticmethod
        def find_spec(fullname, path=None, target_module=None):
            spec = importlib.machinery.PathFinder.find_spec(fullname, path)
            if spec is not None and spec.origin and os.path.realpath(spec.origin) == target:
                spec.loader = StagedSettings(spec.origin)
            return spec

    sys.meta_path.insert(0, StagedFinder)
