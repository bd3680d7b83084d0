"""Readiness on a Redis Cluster: each primary asked for a write of its own.

Every instance shares the cluster, so a readiness that failed on the loss of one primary
would empty the load balancer and turn a third of an outage (the sessions on that primary's
slots) into a whole one. So the cluster counts as ready while any primary takes a write,
unless `every_primary` asks for all of them; either way each primary's state is reported,
live (a write sent to it now), so its loss shows at the next probe.
"""

from __future__ import annotations

import asyncio
import itertools

from redis.asyncio.cluster import ClusterNode, RedisCluster

from coatcheck.adapters.store_watch import StoreWatch
from coatcheck.domain.errors import StoreUnavailable

_EXPIRY_MS = 5000
_TRIES = 3


class ClusterHealth:
    def __init__(
        self, client: RedisCluster, prefix: str, watch: StoreWatch, every_primary: bool = False
    ) -> None:
        self._client = client
        self._prefix = prefix
        self._watch = watch
        self._every_primary = every_primary
        self._keys: dict[int, str] = {}  # a key of ours in each slot met so far
        watch.locate = self.failing  # a cluster's errors seldom say which node failed

    def _key_on(self, node: ClusterNode) -> str | None:
        """A key whose slot `node` serves, as the client knows the layout now."""
        slots = self._client.nodes_manager.slots_cache
        for slot, key in self._keys.items():
            if slots.get(slot, [None])[0] is node:
                return key
        for number in itertools.islice(itertools.count(len(self._keys)), 256):
            key = f"{self._prefix}ready{{{number}}}"
            slot = self._client.keyslot(key)
            self._keys.setdefault(slot, key)
            if slots.get(slot, [None])[0] is node:
                return key
        return None

    async def _takes_a_write(self, node: ClusterNode) -> bool:
        """Whether the primary takes a write now. Tried up to three times: the client drops and
        remakes every node's connections when one node fails, under a write already on its
        way, and again for each request in flight that meets the failure (seen under load:
        healthy primaries told unavailable right after another's loss)."""
        for attempt in range(_TRIES):
            node = self._client.get_node(node_name=node.name) or node
            key = self._key_on(node)
            if key is None:
                return False
            try:
                await node.execute_command("SET", key, b"1", "PX", _EXPIRY_MS)
            except Exception as error:
                if attempt == _TRIES - 1:
                    self._watch.failed(error, node=node.name)
            else:
                return True
        return False

    async def failing(self) -> list[str]:
        """The primaries that take no write now (for the store's down line)."""
        return [node for node, ok in (await self.primaries()).items() if not ok]

    async def primaries(self) -> dict[str, bool]:
        """Each primary, by host:port, and whether it took a write now."""
        if not self._client.get_primaries():
            try:
                await self._client.initialize()
            except Exception as error:
                self._watch.failed(error)
                return {}
        nodes = self._client.get_primaries()
        answers = await asyncio.gather(*(self._takes_a_write(node) for node in nodes))
        return {node.name: ok for node, ok in zip(nodes, answers, strict=True)}

    def ready(self, primaries: dict[str, bool]) -> bool:
        wanted = all if self._every_primary else any
        return bool(primaries) and wanted(primaries.values())

    async def ping(self) -> None:
        if not self.ready(await self.primaries()):
            raise StoreUnavailable("session store refuses writes")
