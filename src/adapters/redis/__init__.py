"""The sessions' store on Redis (redis-py, also Redis Cluster): sessions, log-in attempts,
session events, and the client with its batched reads."""
