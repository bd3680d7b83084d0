"""Handlers: parse, call a use-case, shape the answer. Nothing else."""
