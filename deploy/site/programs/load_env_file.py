"""Loads the env file MEDIA_CUTOVER_ENV_FILE names into this process's environment, before manage.py starts.

Sent after ``env_file_loader.py``, whose media_cutover_load_env it calls, and before ``run_manage_py.py``.
"""

import os

# media_cutover_load_env: env_file_loader.py, sent before this.
media_cutover_load_env(open(os.environ["MEDIA_CUTOVER_ENV_FILE"], encoding="utf-8"))  # noqa: F821
