"""What the preflight read from a host's settings file, and what the run then did to it (``deploy.site.ops.switch``).

One a host, kept in the flow's state (``deploy.flows.state``) and handed to the switch's functions: the undo
puts the file back from it, byte for byte, and reloads the sites it reloaded.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class HostFacts:
    original: bytes = b""          # the settings file as preflight read it
    original_use_s3: bool = False
    original_mirror: bool | None = None  # the mirror's switch (MIRROR_SWITCH_NAME); None: the file has none
    backup_path: str | None = None  # set once the flip wrote a backup: the file as preflight read it
    written: bytes | None = None    # what this run wrote last (a mirror-mode run writes the file twice)
    writes: int = 0
    settings_written: bool = False  # this run replaced the settings file (undo restores it)
    reloaded: bool = False
