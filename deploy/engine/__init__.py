"""The engine: Step, Runner and execute_run; Run (its flow's state of a type it does not know); the journal
and its events; the lock."""
