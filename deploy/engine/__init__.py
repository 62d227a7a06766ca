"""The engine: Step, Runner and execute_run; Run and its typed state; the journal; the lock."""
