"""The match index: exact answers at every radius, against a brute-force scan and faiss."""

from __future__ import annotations

import threading

import numpy as np
import pytest

from hashing import HashIndex, distance
from hashing import index as index_module
from hashing.index import hex_to_words, probe_plan

PLANTED = (0, 1, 10, 30, 31, 32, 33, 60)


def random_hexes(rng: np.random.Generator, count: int, bits: int = 256) -> list[str]:
    return [bytes(row).hex() for row in rng.integers(0, 256, (count, bits // 8), dtype=np.uint8)]


def flip(rng: np.random.Generator, hex_hash: str, bits: int) -> str:
    """A hash exactly `bits` bits away from `hex_hash`."""
    width = len(hex_hash) * 4
    positions = rng.choice(width, size=bits, replace=False)
    value = int(hex_hash, 16)
    for position in positions:
        value ^= 1 << int(position)
    return f"{value:0{len(hex_hash)}x}"


def brute_force(stored: dict[int, str], query: str, radius: int) -> list[tuple[int, int]]:
    found = [(key, distance(query, value)) for key, value in stored.items()]
    return sorted(((key, d) for key, d in found if d <= radius), key=lambda hit: (hit[1], hit[0]))


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(20240603)


def planted_index(rng: np.random.Generator, bits: int = 256, count: int = 20_000, optimize: bool = True):  # type: ignore[no-untyped-def]
    """`count` random hashes, then, for each of 5 queries, neighbours at every PLANTED distance.

    Without `optimize` the neighbours stay in the pending segment (a scan);
    with it they are in the chunk tables.
    """
    stored = dict(enumerate(random_hexes(rng, count, bits)))
    index = HashIndex(bits=bits)
    index.add(list(stored), list(stored.values()))
    index.optimize()  # a bulk load: fold it before adding the neighbours
    queries = random_hexes(rng, 5, bits)
    planted = {len(stored) + i: flip(rng, q, d) for i, (q, d) in enumerate((q, d) for q in queries for d in PLANTED)}
    index.add(list(planted), list(planted.values()))
    stored.update(planted)
    if optimize:
        index.optimize()
    assert len(index._state.pending_ids) == (0 if optimize else len(planted))
    return index, stored, queries


@pytest.mark.parametrize("optimize", [True, False], ids=["indexed", "pending"])
def test_planted_neighbours_are_found_at_exactly_the_radius(rng: np.random.Generator, optimize: bool) -> None:
    index, stored, queries = planted_index(rng, optimize=optimize)
    for query in queries:
        for radius in (0, 10, 31, 32):
            hits = index.search(query, radius)
            assert hits == brute_force(stored, query, radius), (radius, hits)
            assert sorted({d for _id, d in hits}) == [d for d in PLANTED if d <= radius]


def test_every_radius_agrees_with_a_full_scan(rng: np.random.Generator) -> None:
    index, stored, queries = planted_index(rng, count=3_000)
    for radius in range(0, 80, 3):
        assert index.search_many(queries, radius) == [brute_force(stored, q, radius) for q in queries], radius


def test_phash_sized_hashes_are_searched_exactly(rng: np.random.Generator) -> None:
    index, stored, queries = planted_index(rng, bits=64)
    for radius in (0, 8, 10, 12, 31, 32):
        assert index.search_many(queries, radius) == [brute_force(stored, q, radius) for q in queries], radius


def test_the_probe_plan_covers_the_radius() -> None:
    # Pigeonhole: a hash within R differs by at most r_t in some chunk when sum(r_t + 1) > R.
    for chunks in (4, 16):
        for radius in range(0, 70):
            plan = probe_plan(chunks, radius)
            assert len(plan) == chunks
            assert sum(r + 1 for r in plan) == radius + 1
            assert max(plan) - min(r for r in plan if r >= 0) <= 1
    assert probe_plan(16, 31) == (1,) * 16


def test_batched_and_single_queries_give_the_same_answers(rng: np.random.Generator) -> None:
    index, _stored, queries = planted_index(rng)
    many = queries + random_hexes(rng, 50)
    assert index.search_many(many, 31) == [index.search(q, 31) for q in many]


def test_it_agrees_with_faiss(rng: np.random.Generator) -> None:
    faiss = pytest.importorskip("faiss")
    index, stored, queries = planted_index(rng)
    flat = faiss.IndexBinaryFlat(256)
    flat.add(np.frombuffer(b"".join(bytes.fromhex(h) for h in stored.values()), dtype=np.uint8).reshape(-1, 32))
    keys = list(stored)
    query_bytes = np.frombuffer(b"".join(bytes.fromhex(q) for q in queries), dtype=np.uint8).reshape(-1, 32)
    for radius in (0, 10, 31, 32):
        # faiss keeps distances strictly below its radius.
        limits, distances, labels = flat.range_search(query_bytes, radius + 1)
        expected = [
            sorted(((keys[label], int(d)) for label, d in zip(labels[a:b], distances[a:b])), key=lambda h: (h[1], h[0]))
            for a, b in zip(limits[:-1], limits[1:])
        ]
        assert index.search_many(queries, radius) == expected, radius


def test_a_hash_is_searchable_as_soon_as_it_is_added(rng: np.random.Generator) -> None:
    index, _stored, queries = planted_index(rng)
    fresh = flip(rng, queries[0], 5)
    index.add([999_999], [fresh])
    assert (999_999, 5) in index.search(queries[0], 31)
    index.optimize()
    assert (999_999, 5) in index.search(queries[0], 31)


def test_pending_hashes_are_folded_in_without_changing_answers(rng: np.random.Generator) -> None:
    index = HashIndex()
    stored: dict[int, str] = {}
    query = random_hexes(rng, 1)[0]
    # Enough small batches to pass the pending limit several times over.
    for batch in range(12):
        hexes = [*random_hexes(rng, 1000), flip(rng, query, batch * 3)]
        ids = list(range(len(stored), len(stored) + len(hexes)))
        stored.update(zip(ids, hexes, strict=True))
        index.add(ids, hexes)
        assert index.search(query, 31) == brute_force(stored, query, 31)
    assert len(index) == len(stored)


def test_changes_made_during_a_background_fold_are_kept(
    rng: np.random.Generator, monkeypatch: pytest.MonkeyPatch
) -> None:
    index, stored, queries = planted_index(rng)
    started, release = threading.Event(), threading.Event()
    build = index_module._Tables.build

    def slow_build(codes, ids):  # type: ignore[no-untyped-def]
        started.set()
        release.wait(10)
        return build(codes, ids)

    monkeypatch.setattr(index_module._Tables, "build", slow_build)
    # Pass the pending limit: a fold starts in the background and waits.
    bulk = dict(zip(range(10**6, 10**6 + 5000), random_hexes(rng, 5000), strict=True))
    index.add(list(bulk), list(bulk.values()))
    stored.update(bulk)
    assert started.wait(10)
    # While it runs: an add, a removal of a folded row, a removal of a row being folded.
    fresh = flip(rng, queries[0], 7)
    index.add([2 * 10**6], [fresh])
    stored[2 * 10**6] = fresh
    folded_neighbour = index.search(queries[0], 31)[0][0]
    being_folded = next(iter(bulk))
    assert index.remove([folded_neighbour, being_folded]) == 2
    del stored[folded_neighbour], stored[being_folded]
    assert index.search(queries[0], 31) == brute_force(stored, queries[0], 31)
    release.set()
    monkeypatch.setattr(index_module._Tables, "build", build)
    index.optimize()  # waits for the background fold, then folds the rest
    assert len(index._state.pending_ids) == 0
    assert len(index) == len(stored)
    assert index.search_many(queries, 31) == [brute_force(stored, q, 31) for q in queries]


def test_without_background_folding_add_folds_in_place(rng: np.random.Generator) -> None:
    index = HashIndex(background=False)
    hexes = random_hexes(rng, 5000)
    index.add(range(5000), hexes)
    assert len(index._state.pending_ids) == 0 and len(index._state.tables.ids) == 5000
    assert index.search(hexes[42], 0) == [(42, 0)]


def test_removed_hashes_are_not_found(rng: np.random.Generator) -> None:
    index, stored, queries = planted_index(rng)
    hits = index.search(queries[0], 31)
    gone = [hit_id for hit_id, _d in hits[:2]]
    assert index.remove(gone) == 2
    assert index.remove(gone) == 0
    for key in gone:
        del stored[key]
    assert index.search(queries[0], 31) == brute_force(stored, queries[0], 31)
    assert len(index) == len(stored)
    # Removing most rows compacts the index; answers stay exact.
    index.remove(list(stored)[: len(stored) * 9 // 10])
    stored = dict(list(stored.items())[len(stored) * 9 // 10 :])
    assert index.search_many(queries, 31) == [brute_force(stored, q, 31) for q in queries]


def test_ids_may_be_large_database_keys(rng: np.random.Generator) -> None:
    index = HashIndex()
    query = random_hexes(rng, 1)[0]
    index.add([7, 2**40], [query, flip(rng, query, 3)])
    assert index.search(query, 31) == [(7, 0), (2**40, 3)]


def test_an_empty_index_finds_nothing() -> None:
    index = HashIndex()
    assert index.search("0" * 64, 31) == []
    assert index.search_many([], 31) == []
    assert len(index) == 0


def test_bad_input_is_refused() -> None:
    index = HashIndex()
    with pytest.raises(ValueError, match="256-bit"):
        index.add([1], ["abc"])
    with pytest.raises(ValueError, match="hexadecimal"):
        index.add([1], ["z" * 64])
    with pytest.raises(ValueError, match="ids"):
        index.add([1, 2], ["0" * 64])
    with pytest.raises(ValueError, match="radius"):
        index.search("0" * 64, -1)
    with pytest.raises(ValueError, match="multiple of 64"):
        HashIndex(bits=100)


def test_distances_do_not_depend_on_byte_order(rng: np.random.Generator) -> None:
    a, b = random_hexes(rng, 2)
    words = hex_to_words([a, b], 256)
    assert int(np.bitwise_count(words[0] ^ words[1]).sum()) == distance(a, b)


def test_searches_see_a_consistent_index_while_another_thread_adds(rng: np.random.Generator) -> None:
    index, stored, queries = planted_index(rng, count=5_000)
    expected = index.search(queries[0], 31)
    errors: list[str] = []

    def search() -> None:
        for _ in range(30):
            hits = index.search(queries[0], 31)
            # Hashes added concurrently are random (never within 31): the answer is stable.
            if hits != expected:
                errors.append(repr(hits))

    reader = threading.Thread(target=search)
    reader.start()
    for batch in range(10):
        index.add(range(100_000 + batch * 1000, 100_000 + batch * 1000 + 1000), random_hexes(rng, 1000))
    reader.join()
    assert errors == []
