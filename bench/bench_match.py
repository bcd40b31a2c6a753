"""Exact radius-31 PDQ matching over 1M (and, with --10m, 10M) stored hashes.

Compares `hashing.HashIndex` (multi-index hashing over numpy) with its peers,
each measured in the same run on the same hashes and queries:

- faiss IndexBinaryFlat range search (Meta's library, exact, a full scan),
  on one thread and on every core;
- faiss IndexBinaryMultiHash, 16 tables of 16 bits with 1 flipped bit (exact
  at radius 31 by the same pigeonhole argument; checked below);
- a numpy `bitwise_count` scan of every stored hash;
- a plain Python loop over ints, timed on a 20,000-hash subset and
  extrapolated linearly (it is a full scan, so its cost is linear in n).

The stored hashes are random 256-bit strings with 10% near-duplicates of
others (1-30 bits apart), like several copies of one image; half the queries
are 0-40 bits from a stored hash, half are unrelated. Real PDQ hashes are
about as evenly spread over each 16-bit chunk (each bit is a median
threshold), which is what the index's speed depends on.

    python bench/bench_match.py [--10m]
"""

from __future__ import annotations

import argparse
import itertools
import time
from concurrent.futures import ThreadPoolExecutor

import numpy as np
from common import Results, best_rate

from hashing.index import HashIndex, _scan

RADIUS = 31
WORDS = 4  # 256 bits as uint64


def make_hashes(rng: np.random.Generator, n: int) -> np.ndarray:
    codes = rng.integers(0, 2**64, (n, WORDS), dtype=np.uint64)
    copies = rng.choice(n, n // 10, replace=False)
    originals = rng.choice(n, n // 10)
    codes[copies] = flip_bits(rng, codes[originals], rng.integers(1, 31, n // 10))
    return codes


def make_queries(rng: np.random.Generator, codes: np.ndarray, count: int) -> np.ndarray:
    near = flip_bits(rng, codes[rng.choice(len(codes), count // 2)], rng.integers(0, 41, count // 2))
    far = rng.integers(0, 2**64, (count - count // 2, WORDS), dtype=np.uint64)
    queries = np.concatenate([near, far])
    return queries[rng.permutation(count)]


def flip_bits(rng: np.random.Generator, codes: np.ndarray, counts: np.ndarray) -> np.ndarray:
    bits = np.unpackbits(codes.view(np.uint8), axis=1)
    for row, count in enumerate(counts):
        bits[row, rng.choice(256, int(count), replace=False)] ^= 1
    return np.packbits(bits, axis=1).view(np.uint64)


def hexes(codes: np.ndarray) -> list[str]:
    return [bytes(row).hex() for row in codes.view(np.uint8)]


def bench_scale(results: Results, n: int, label: str, rng: np.random.Generator, faiss_rounds: int) -> None:
    import faiss

    print(f"[match {label}] generating {n:,} hashes", flush=True)
    codes = make_hashes(rng, n)
    queries = make_queries(rng, codes, 4000)
    query_hex = hexes(queries)

    start = time.perf_counter()
    index = HashIndex()
    index.add_words(np.arange(n), codes)
    index.optimize()
    build_seconds = time.perf_counter() - start
    print(f"[match {label}] HashIndex built in {build_seconds:.1f} s", flush=True)

    # Exactness: identical answers to faiss's full scan (faiss keeps d < radius).
    flat = faiss.IndexBinaryFlat(256)
    flat.add(codes.view(np.uint8))
    check = queries[:200]
    limits, _distances, labels = flat.range_search(check.view(np.uint8), RADIUS + 1)
    expected = [sorted(labels[a:b].tolist()) for a, b in itertools.pairwise(limits)]
    found = [sorted(i for i, _d in hits) for hits in index.search_words(check, RADIUS)]
    if found != expected:
        raise SystemExit(f"HashIndex disagrees with faiss IndexBinaryFlat at {label}")
    hits = sum(len(e) for e in expected)
    print(f"[match {label}] exact: same {hits} matches as faiss IndexBinaryFlat on 200 queries", flush=True)

    single_count = 2000 if n <= 2_000_000 else 500
    offset = iter(range(0, 10**9, single_count))

    def single() -> int:
        base = next(offset) % (len(query_hex) - single_count + 1)
        for h in query_hex[base : base + single_count]:
            index.search(h, RADIUS)
        return single_count

    def batched() -> int:
        for s in range(0, len(query_hex), 1000):
            index.search_many(query_hex[s : s + 1000], RADIUS)
        return len(query_hex)

    def batched_two_threads() -> int:
        with ThreadPoolExecutor(2) as pool:
            list(pool.map(lambda s: index.search_many(query_hex[s : s + 1000], RADIUS), range(0, 4000, 1000)))
        return len(query_hex)

    # Peers.
    def faiss_single(threads: int, count: int) -> float:
        faiss.omp_set_num_threads(threads)
        q = queries.view(np.uint8)

        def work() -> int:
            for i in range(count):
                flat.range_search(q[i : i + 1], RADIUS + 1)
            return count

        return best_rate(work, faiss_rounds)

    def faiss_batched(index_: object, threads: int, count: int) -> float:
        faiss.omp_set_num_threads(threads)
        q = queries[:count].view(np.uint8)
        return best_rate(lambda: (index_.range_search(q, RADIUS + 1), count)[1], faiss_rounds)  # type: ignore[attr-defined]

    name = f"match.{label}.radius31"
    small = n <= 2_000_000
    results.add(f"{name}.single.faiss_flat_1thread", faiss_single(1, 200 if small else 30), "queries/s")
    results.add(f"{name}.batch.faiss_flat_1thread", faiss_batched(flat, 1, 1000 if small else 200), "queries/s")
    results.add(f"{name}.batch.faiss_flat_2threads", faiss_batched(flat, 2, 1000 if small else 200), "queries/s")
    faiss.omp_set_num_threads(1)

    if small:
        start = time.perf_counter()
        multihash = faiss.IndexBinaryMultiHash(256, 16, 16)
        multihash.nflip = 1  # 16 x (1 + 1) > 31: exact at radius 31
        multihash.add(codes.view(np.uint8))
        print(f"[match {label}] faiss IndexBinaryMultiHash built in {time.perf_counter() - start:.1f} s", flush=True)
        limits_mh, _d, labels_mh = multihash.range_search(check.view(np.uint8), RADIUS + 1)
        mh_found = [sorted(labels_mh[a:b].tolist()) for a, b in itertools.pairwise(limits_mh)]
        if mh_found != expected:
            raise SystemExit("faiss IndexBinaryMultiHash is not exact at radius 31")
        results.add(f"{name}.batch.faiss_multihash_1thread", faiss_batched(multihash, 1, 1000), "queries/s")
        del multihash

    scan_count = 50 if small else 10

    def numpy_scan() -> int:
        _scan(codes, queries[:scan_count], RADIUS)
        return scan_count

    results.add(f"{name}.single.numpy_bitwise_count_scan", best_rate(numpy_scan, 2), "queries/s")

    subset = [int.from_bytes(bytes(row), "big") for row in codes[:20_000].view(np.uint8)]
    python_queries = [int.from_bytes(bytes(row), "big") for row in queries[:10].view(np.uint8)]

    def python_loop() -> int:
        for q in python_queries:
            [i for i, h in enumerate(subset) if (q ^ h).bit_count() <= RADIUS]
        return len(python_queries)

    # Extrapolated from 20,000 hashes to n: the loop is a full scan, linear in n.
    python_rate = best_rate(python_loop, 2) * len(subset) / n
    results.add(f"{name}.single.python_loop_extrapolated", python_rate, "queries/s")

    results.add(f"{name}.single.hashindex", best_rate(single), "queries/s", f"{name}.single.faiss_flat_1thread")
    results.add(
        f"{name}.single.hashindex_vs_python", results[-1].value, "queries/s", f"{name}.single.python_loop_extrapolated"
    )
    results.add(f"{name}.batch.hashindex", best_rate(batched), "queries/s", f"{name}.batch.faiss_flat_1thread")
    if small:
        results.add(
            f"{name}.batch.hashindex_vs_multihash",
            results[-1].value,
            "queries/s",
            f"{name}.batch.faiss_multihash_1thread",
        )
    results.add(
        f"{name}.batch.hashindex_2threads",
        best_rate(batched_two_threads),
        "queries/s",
        f"{name}.batch.faiss_flat_2threads",
    )

    # Memory: the index's arrays (a 10M run's resident memory grew by 949 MB for 964 MB of arrays).
    per_million = 1e6 / n
    results.add(f"match.{label}.memory.faiss_flat_per_million", 32 * 1e6, "bytes")
    results.add(
        f"match.{label}.memory.hashindex_per_million",
        index.nbytes * per_million,
        "bytes",
        f"match.{label}.memory.faiss_flat_per_million",
        invert=True,
    )
    results.add(f"match.{label}.memory.hashindex_total", index.nbytes, "bytes")
    results.add(f"match.{label}.build.hashindex", build_seconds, "s")

    # A new hash: how long until it is found (HMA's target is 10 minutes).
    fresh = flip_bits(rng, queries[:1], np.array([3]))
    start = time.perf_counter()
    index.add_words(np.array([n + 1]), fresh)
    found = any(i == n + 1 for i, _d in index.search_words(queries[:1], RADIUS)[0])
    latency = time.perf_counter() - start
    assert found
    results.add(f"match.{label}.new_hash_searchable_after", latency * 1000, "ms")
    start = time.perf_counter()
    index.optimize()
    results.add(f"match.{label}.fold_pending_into_tables", time.perf_counter() - start, "s")


def run(argv: list[str] | None = None) -> Results:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--10m", dest="ten_million", action="store_true", help="also 10M hashes (~1 more minute)")
    args = parser.parse_args(argv)
    results = Results()
    rng = np.random.default_rng(3)
    bench_scale(results, 1_000_000, "1M", rng, faiss_rounds=3)
    if args.ten_million:
        bench_scale(results, 10_000_000, "10M", rng, faiss_rounds=1)
    results.print("Matching (exact, radius 31, 256-bit PDQ; one core unless it says threads)")
    return results


if __name__ == "__main__":
    run()
