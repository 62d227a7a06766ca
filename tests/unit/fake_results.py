"""What a fake connection's `run` answers: the fields of an Invoke Result the code reads."""

from dataclasses import dataclass


@dataclass
class Result:
    stdout: str
    stderr: str = ""
    exited: int = 0

    @property
    def ok(self) -> bool:
        return self.exited == 0
