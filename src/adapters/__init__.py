"""Implementations of the domain's ports: PostgreSQL, Redis, SQLite, memory, bcrypt."""
