"""The sync tools on the media host: their pins and credentials files (tools), command lines (commands, and
the download's: download_commands) and output (output), all pure; over SSH, installing the tool (install),
the files of one run (files), running it (on_host) and sending again what a copy failed (resend)."""
