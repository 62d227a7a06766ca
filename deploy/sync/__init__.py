"""The sync tools on the media host: their pins and credentials files (tools), command lines (commands, and
the download's: download_commands) and output (output), all pure; the files of one run (files) and running
them (on_host) over SSH."""
