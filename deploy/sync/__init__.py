"""The sync tools on the media host: their pins and credentials files (tools), command lines (commands) and
output (output), all pure; the files of one run (files) and running them (runner) over SSH."""
