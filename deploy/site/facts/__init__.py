"""What the sites are: probes' command lines and the judging of what they report. Pure."""
