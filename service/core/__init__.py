"""Configuration, database, models and migrations, logs, errors, crypto and the
per-process state: the ground every stage stands on. Imports nothing else of Clout's."""
