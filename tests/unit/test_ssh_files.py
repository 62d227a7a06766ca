"""paramiko's files finalized at the interpreter's exit say nothing (a failed cutover's error output carried
"Exception ignored ... ValueError: I/O operation on closed file" with a traceback, twice in CI)."""

import subprocess
import sys


def test_a_file_finalized_after_its_buffer_prints_no_traceback():
    program = ("import deploy.remote.ssh\n"
               "from paramiko.file import BufferedFile\n"
               "f = BufferedFile()\n"
               "f._set_mode('wb', 0)\n"
               "f._wbuffer.close()   # as when the interpreter's exit finalized the buffer first\n"
               "del f\n")
    result = subprocess.run([sys.executable, "-c", program], capture_output=True, text=True)
    assert result.returncode == 0 and "Traceback" not in result.stderr, result.stderr


def test_without_the_guard_paramiko_prints_one():
    program = ("from paramiko.file import BufferedFile\n"
               "f = BufferedFile()\n"
               "f._set_mode('wb', 0)\n"
               "f._wbuffer.close()\n"
               "del f\n")
    result = subprocess.run([sys.executable, "-c", program], capture_output=True, text=True)
    assert "I/O operation on closed file" in result.stderr   # the guard above is what keeps it quiet
