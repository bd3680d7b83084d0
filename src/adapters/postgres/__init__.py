"""The users' store on PostgreSQL (asyncpg): users, one-time tokens and known devices, and the
versioned schema."""
