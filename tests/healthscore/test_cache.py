"""The Redis cache the servers use (healthscore/cache.py): one redis-py client per connection
pool for the whole process, shared by threads, instead of a new client for every call."""

import concurrent.futures

from django.core.cache import cache

from tests.front.test_page_cache import redis_cache  # noqa: F401 (autouse: Redis)


def test_every_cache_call_shares_one_client():
    backend = cache._cache
    assert backend.get_client() is backend.get_client(write=True) is backend.get_client()


def test_threads_share_the_client_and_each_reads_its_own_writes():
    def write_then_read(number: int) -> object:
        cache.set(f"shared-client-{number}", number)
        cache.set_many({f"shared-client-{number}-b": -number})
        return cache.get_many([f"shared-client-{number}", f"shared-client-{number}-b"])

    with concurrent.futures.ThreadPoolExecutor(8) as pool:
        found = list(pool.map(write_then_read, range(64)))
    assert found == [{f"shared-client-{n}": n, f"shared-client-{n}-b": -n} for n in range(64)]
