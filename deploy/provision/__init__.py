"""`invoke provision` and its teardown: what the environment needs (desired, policies), what the store holds
(observe), the steps between (plan), acting on them (apply), checking the new key (check), the record."""
