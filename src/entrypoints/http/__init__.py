"""The HTTP service: aiohttp application, routes, and the ticket's way over HTTP."""
