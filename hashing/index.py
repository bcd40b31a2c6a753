"""Exact Hamming-radius search over stored hashes (PDQ 256-bit, pHash/dHash 64-bit).

Why not a flat scan: answering "every stored hash within distance 31" by
comparing the query with all of a million PDQ hashes reads 32 MB per query
(faiss IndexBinaryFlat: ~740 queries/s on one core here). Why not an
approximate index (HNSW, IVF): a takedown match that is silently missed is the
worst outcome, so results must be exact.

Multi-index hashing (Norouzi, Punjani & Fleet, "Fast exact search in Hamming
space with multi-index hashing", 2012) is exact and reads a few thousand
hashes per query instead:

1. Cut every hash into `m` chunks of 16 bits (16 chunks for PDQ, 4 for
   pHash) and keep, per chunk, the stored rows sorted by that chunk's value
   with a 65,536-entry offset table, so each chunk value is a bucket.
2. Pigeonhole: if d(q, x) <= R and chunk t is probed with radius r_t, where
   the r_t + 1 add up to more than R, then at least one chunk of x is within
   r_t of the same chunk of q (otherwise d >= sum(r_t + 1) > R). For PDQ at
   R = 31 that is radius 1 in each of the 16 chunks: 16 x 17 buckets.
3. Every row in those buckets is a candidate; its full distance is computed
   with `np.bitwise_count` and kept when <= R. Nothing within R can be
   missed, so the answer is exactly that of a full scan.

New hashes go to a small pending segment that is scanned in full, so a hash
is searchable as soon as `add` returns; once the pending segment grows past a
fraction of the index it is folded into the chunk tables, in a background
thread, since that rebuild takes seconds at 10M hashes. Removal marks rows
dead until the next fold. Writers replace whole immutable snapshots, so
searches from other threads always see a consistent state.

Pure numpy: no Django, importable by the offline hasher.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import cache

import numpy as np

logger = logging.getLogger(__name__)

CHUNK_BITS = 16
_BUCKETS = 1 << CHUNK_BITS
# Rows the pending segment may hold before it is folded into the chunk tables:
# at least this many, or this fraction of the indexed rows, so rebuild work
# stays a small constant per added hash while the pending scan stays cheap.
_PENDING_MIN = 4096
_PENDING_FRACTION = 1 / 256
# Candidates checked at once in a batch: bounds temporary memory (~60 bytes
# per candidate) and keeps the working set in cache; measured best near 2**17.
_CANDIDATES_PER_STEP = 1 << 17

Match = tuple[int, int]


def hex_to_words(hex_hashes: Iterable[str], bits: int) -> np.ndarray:
    """Hex hashes as an (n, bits/64) uint64 array, for fast XOR and popcount.

    The bytes are reinterpreted in machine order, which permutes bit positions
    identically for every hash and so leaves every Hamming distance unchanged.
    """
    width = bits // 4
    raw = bytearray()
    count = 0
    for value in hex_hashes:
        if len(value) != width:
            raise ValueError(f"Expected a {bits}-bit hash ({width} hex digits), got {len(value)} characters")
        try:
            raw += bytes.fromhex(value)
        except ValueError:
            raise ValueError(f"Not a hexadecimal hash: {value[:80]!r}") from None
        count += 1
    return np.frombuffer(bytes(raw), dtype=np.uint64).reshape(count, bits // 64).copy()


def hamming(codes: np.ndarray, query: np.ndarray) -> np.ndarray:
    """Distances from one query (words,) to every row of codes (n, words)."""
    distances = np.zeros(len(codes), dtype=np.uint16)
    for word in range(codes.shape[1]):
        distances += np.bitwise_count(codes[:, word] ^ query[word])
    return distances


@cache
def _masks(radius: int) -> np.ndarray:
    """Every 16-bit XOR mask flipping at most `radius` bits."""
    values = np.arange(_BUCKETS, dtype=np.uint32)
    return values[np.bitwise_count(values) <= radius].astype(np.int64)


@cache
def probe_plan(chunks: int, radius: int) -> tuple[int, ...]:
    """Per-chunk probe radius (-1: chunk not probed) with sum(r + 1) = radius + 1.

    Spreading the budget evenly minimises the number of buckets read, since
    the bucket count grows faster than linearly with each chunk's radius.
    """
    need = radius + 1
    if need <= chunks:
        return tuple([0] * need + [-1] * (chunks - need))
    base, extra = divmod(need, chunks)
    return tuple(base - 1 + (1 if t < extra else 0) for t in range(chunks))


@dataclass(frozen=True)
class _Tables:
    """Rows in chunk-0 order plus, per chunk, bucket offsets and a row order.

    Rows are stored sorted by chunk 0, so chunk 0 needs no row order of its
    own: that saves 4 bytes per hash (40 MB at 10M).
    """

    codes: np.ndarray  # (n, words) uint64, sorted by chunk 0
    ids: np.ndarray  # (n,) int32 or int64
    offsets: np.ndarray  # (chunks, 65537) uint32: bucket v of chunk t is [offsets[t, v], offsets[t, v + 1])
    orders: np.ndarray  # (chunks - 1, n) uint32: rows sorted by chunk t + 1
    alive: np.ndarray | None  # (n,) bool once something was removed

    @classmethod
    def build(cls, codes: np.ndarray, ids: np.ndarray) -> _Tables:
        chunks = codes.shape[1] * 64 // CHUNK_BITS
        n = len(codes)
        if n >= 2**32:
            raise ValueError("The index holds at most 2**32 - 1 hashes")
        first = np.argsort(_chunk(codes, 0), kind="stable")
        codes = _rows(codes, first)
        ids = ids[first]
        offsets = np.zeros((chunks, _BUCKETS + 1), dtype=np.uint32)
        orders = np.empty((chunks - 1, n), dtype=np.uint32)
        for t in range(chunks):
            key = _chunk(codes, t)
            np.cumsum(np.bincount(key, minlength=_BUCKETS), out=offsets[t, 1:])
            if t:
                orders[t - 1] = np.argsort(key, kind="stable")
        return cls(codes, ids, offsets, orders, None)

    @property
    def nbytes(self) -> int:
        alive = 0 if self.alive is None else self.alive.nbytes
        return self.codes.nbytes + self.ids.nbytes + self.offsets.nbytes + self.orders.nbytes + alive

    @property
    def live(self) -> int:
        return len(self.codes) - self.dead

    @property
    def dead(self) -> int:
        return 0 if self.alive is None else len(self.codes) - int(self.alive.sum())

    def search(self, queries: np.ndarray, radius: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(query number, row, distance) of every live row within radius, each once."""
        n = len(self.codes)
        plan = probe_plan(self.offsets.shape[0], radius)
        buckets = len(_probes(plan)[0])
        if n == 0:
            empty = np.empty(0, dtype=np.int64)
            return empty, empty, empty
        if buckets * n / _BUCKETS > n / 4:
            # So wide a radius reads most rows anyway: a scan is cheaper.
            return _scan(self.codes, queries, radius, self.alive)
        per_query = max(1, int(buckets * n / _BUCKETS))
        step = max(1, _CANDIDATES_PER_STEP // per_query)
        parts = [self._probe(queries[s : s + step], s, radius, plan) for s in range(0, len(queries), step)]
        return tuple(np.concatenate(column) for column in zip(*parts, strict=True))  # type: ignore[return-value]

    def _probe(
        self, queries: np.ndarray, first: int, radius: int, plan: tuple[int, ...]
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        n = len(self.codes)
        tables, masks = _probes(plan)
        # (probes, queries) order, so the chunk-0 probes (whose positions are
        # rows themselves) come first and the rest map through `orders`.
        keys = queries.view(np.uint16)[:, tables].T.astype(np.int64)
        buckets = (keys ^ masks[:, None]) + (tables * (_BUCKETS + 1))[:, None]
        flat_offsets = self.offsets.ravel()
        start = flat_offsets[buckets].astype(np.int64)
        length = flat_offsets[buckets + 1].astype(np.int64) - start
        # Expand the [start, start + length) ranges into one position array:
        # for chunk 0 a position is a row; for chunk t >= 1 it is a position
        # in orders.ravel(), where orders[t - 1] starts at (t - 1) * n.
        start += np.maximum(tables - 1, 0)[:, None] * n
        flat_length = length.ravel()
        total = int(flat_length.sum())
        before = np.cumsum(flat_length) - flat_length
        rows = np.arange(total, dtype=np.int64) + np.repeat(start.ravel() - before, flat_length)
        first_chunk = int(length[tables == 0].sum())
        rows[first_chunk:] = np.take(self.orders.ravel(), rows[first_chunk:])
        if len(queries) == 1:
            query = np.zeros(total, dtype=np.int64)
            distance = _distances(_rows(self.codes, rows) ^ queries[0])
        else:
            query = np.repeat(np.tile(np.arange(len(queries), dtype=np.int64), len(tables)), flat_length)
            distance = _distances(_rows(self.codes, rows) ^ _rows(queries, query))
        keep = distance <= radius
        if self.alive is not None:
            keep &= self.alive[rows]
        query, rows, distance = query[keep], rows[keep], distance[keep]
        # A row close in several chunks is found several times: keep one.
        _unique, once = np.unique(query * n + rows, return_index=True)
        return query[once] + first, rows[once], distance[once].astype(np.int64)


@cache
def _probes(plan: tuple[int, ...]) -> tuple[np.ndarray, np.ndarray]:
    """The (chunk, XOR mask) pairs a plan reads, flattened for one vectorised lookup."""
    tables = [np.full(len(_masks(r)), t, dtype=np.int64) for t, r in enumerate(plan) if r >= 0]
    masks = [_masks(r) for r in plan if r >= 0]
    return np.concatenate(tables), np.concatenate(masks)


def _rows(codes: np.ndarray, rows: np.ndarray) -> np.ndarray:
    """codes[rows], gathered as whole 8*words-byte records (several times faster than fancy indexing)."""
    records = codes.view(np.dtype((np.void, codes.shape[1] * 8))).ravel()
    return np.take(records, rows).view(np.uint64).reshape(len(rows), codes.shape[1])


def _distances(xor: np.ndarray) -> np.ndarray:
    """Row-wise popcount of an (n, words) uint64 array, as uint16.

    Summing per-word counts column by column: numpy's sum over a short last
    axis is an order of magnitude slower.
    """
    counts = np.bitwise_count(xor)
    distances = counts[:, 0].astype(np.uint16)
    for word in range(1, xor.shape[1]):
        distances += counts[:, word]
    return distances


def _without(tables: _Tables, gone: np.ndarray) -> _Tables:
    """The same tables with every row of these ids marked dead (copy on write)."""
    dead = np.isin(tables.ids, gone)
    if not dead.any():
        return tables
    alive = ~dead if tables.alive is None else tables.alive & ~dead
    return _Tables(tables.codes, tables.ids, tables.offsets, tables.orders, alive)


def _chunk(codes: np.ndarray, t: int) -> np.ndarray:
    return np.ascontiguousarray(codes.view(np.uint16)[:, t])


def _scan(
    codes: np.ndarray, queries: np.ndarray, radius: int, alive: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Full comparison of every query with every row (the pending segment, wide radii)."""
    found_q, found_row, found_d = [], [], []
    for number, query in enumerate(queries):
        distances = hamming(codes, query)
        hit = distances <= radius
        if alive is not None:
            hit &= alive
        rows = np.flatnonzero(hit)
        found_q.append(np.full(len(rows), number, dtype=np.int64))
        found_row.append(rows)
        found_d.append(distances[rows].astype(np.int64))
    if not found_q:
        empty = np.empty(0, dtype=np.int64)
        return empty, empty, empty
    return np.concatenate(found_q), np.concatenate(found_row), np.concatenate(found_d)


def _as_ids(ids: Iterable[int] | np.ndarray) -> np.ndarray:
    array = np.asarray(list(ids) if not isinstance(ids, np.ndarray) else ids)
    if array.size == 0:
        return np.empty(0, dtype=np.int32)
    if array.dtype.kind not in "iu":
        raise TypeError("Ids must be integers")
    # Database keys usually fit 32 bits: 40 MB saved per 10M hashes.
    small = int(array.min()) >= -(2**31) and int(array.max()) < 2**31
    return array.astype(np.int32 if small else np.int64)


@dataclass(frozen=True)
class _State:
    tables: _Tables
    pending_codes: np.ndarray
    pending_ids: np.ndarray
    pending_seq: np.ndarray  # (pending,) int64: order of arrival, to tell what a fold took


class HashIndex:
    """All stored hashes of one kind, answering "which ids are within distance d" exactly.

    `bits` is 256 for PDQ, 64 for pHash and dHash. Ids are integers (e.g. the
    stored hash rows' primary keys); an id may be added more than once, and
    `remove` removes every entry with that id.

    Memory per PDQ hash: 32 bytes of hash, 4 of id (8 past 2**31), 4 per
    chunk but the first (60): ~96 MB per million, 0.96 GB for 10M. A fold
    briefly holds the old and the new tables (about twice that).

    Folding pending hashes into the chunk tables takes seconds at 10M hashes,
    so by default it runs in a background thread while `add` returns at once
    (the new hashes are searchable from the pending segment meanwhile);
    `background=False` folds inside the `add` call that passes the limit.
    Call `optimize()` after a bulk load to fold everything before searching.
    """

    def __init__(self, bits: int = 256, *, background: bool = True) -> None:
        if bits <= 0 or bits % 64:
            raise ValueError("bits must be a positive multiple of 64 (256 for PDQ, 64 for pHash)")
        self.bits = bits
        self.background = background
        self._words = bits // 64
        empty_codes = np.empty((0, self._words), dtype=np.uint64)
        empty_ids = np.empty(0, dtype=np.int32)
        self._state = _State(_Tables.build(empty_codes, empty_ids), empty_codes, empty_ids, np.empty(0, np.int64))
        self._next_seq = 0
        self._write = threading.Lock()  # held briefly by every change of _state
        self._fold = threading.Lock()  # held for the whole of a fold: one at a time
        self._folding = False
        self._removed_while_folding: list[np.ndarray] = []

    def __len__(self) -> int:
        state = self._state
        return state.tables.live + len(state.pending_ids)

    @property
    def nbytes(self) -> int:
        """Bytes held by the index's arrays (what a million more hashes cost)."""
        state = self._state
        return state.tables.nbytes + state.pending_codes.nbytes + state.pending_ids.nbytes + state.pending_seq.nbytes

    def add(self, ids: Iterable[int] | np.ndarray, hex_hashes: Iterable[str]) -> None:
        """Add hashes; they are searchable as soon as this returns."""
        self.add_words(_as_ids(ids), hex_to_words(hex_hashes, self.bits))

    def add_words(self, ids: np.ndarray, words: np.ndarray) -> None:
        """Add hashes already in `hex_to_words` form (bulk loading without hex parsing)."""
        ids = _as_ids(ids)
        words = np.ascontiguousarray(words, dtype=np.uint64).reshape(-1, self._words)
        if len(ids) != len(words):
            raise ValueError(f"{len(ids)} ids for {len(words)} hashes")
        with self._write:
            state = self._state
            seq = np.arange(self._next_seq, self._next_seq + len(ids), dtype=np.int64)
            self._next_seq += len(ids)
            self._state = _State(
                state.tables,
                np.concatenate([state.pending_codes, words]),
                np.concatenate([state.pending_ids, ids]),
                np.concatenate([state.pending_seq, seq]),
            )
            limit = max(_PENDING_MIN, int(len(state.tables.codes) * _PENDING_FRACTION))
            due = len(self._state.pending_ids) > limit
        if due:
            self._start_fold()

    def remove(self, ids: Iterable[int] | np.ndarray) -> int:
        """Remove every entry with one of these ids; returns how many were removed."""
        gone = _as_ids(ids)
        with self._write:
            state = self._state
            tables = _without(state.tables, gone)
            pending_dead = np.isin(state.pending_ids, gone)
            removed = tables.dead - state.tables.dead + int(pending_dead.sum())
            if not removed:
                return 0
            if self._folding:
                # The fold in progress read the rows before this removal.
                self._removed_while_folding.append(gone)
            keep = ~pending_dead
            self._state = _State(tables, state.pending_codes[keep], state.pending_ids[keep], state.pending_seq[keep])
            # Mostly dead rows cost search time: rebuild without them.
            due = tables.dead > len(tables.ids) // 4
        if due:
            self._start_fold()
        return removed

    def optimize(self) -> None:
        """Fold every pending hash into the chunk tables and drop removed rows, now."""
        with self._fold:  # waits for a background fold to finish
            self._run_fold()

    def _start_fold(self) -> None:
        if not self._fold.acquire(blocking=False):
            return  # a fold is already running; the next add will ask again
        if not self.background:
            try:
                self._run_fold()
            finally:
                self._fold.release()
            return

        def fold() -> None:
            try:
                self._run_fold()
            except Exception:  # e.g. MemoryError; nothing is lost, the pending rows stay
                logger.exception("Folding pending hashes into the index failed")
            finally:
                self._fold.release()

        threading.Thread(target=fold, name="hash-index-fold", daemon=True).start()

    def _run_fold(self) -> None:
        """Rebuild the tables from a snapshot, then swap them in (caller holds _fold).

        1. Under the write lock, snapshot the tables and pending rows.
        2. Without any lock, build new tables from them (searches and adds go on).
        3. Under the write lock, swap: keep pending rows that arrived after the
           snapshot, and re-apply removals made during the build.
        """
        with self._write:
            snapshot = self._state
            if not len(snapshot.pending_ids) and not snapshot.tables.dead:
                return  # e.g. optimize() right after a background fold
            self._folding = True
            self._removed_while_folding = []
        try:
            tables = snapshot.tables
            codes, ids = tables.codes, tables.ids
            if tables.alive is not None:
                codes, ids = codes[tables.alive], ids[tables.alive]
            merged = _Tables.build(
                np.concatenate([codes, snapshot.pending_codes]), np.concatenate([ids, snapshot.pending_ids])
            )
        except BaseException:
            with self._write:
                self._folding = False
            raise
        with self._write:
            for gone in self._removed_while_folding:
                merged = _without(merged, gone)
            self._removed_while_folding = []
            self._folding = False
            current = self._state
            cutoff = snapshot.pending_seq[-1] if len(snapshot.pending_seq) else -1
            later = current.pending_seq > cutoff
            self._state = _State(
                merged, current.pending_codes[later], current.pending_ids[later], current.pending_seq[later]
            )

    def search(self, hex_hash: str, radius: int) -> list[Match]:
        """(id, distance) of every stored hash within `radius`, nearest first."""
        return self.search_many([hex_hash], radius)[0]

    def search_many(self, hex_hashes: Sequence[str], radius: int) -> list[list[Match]]:
        """`search` for each hash, in one pass (faster per query for batches)."""
        return self.search_words(hex_to_words(hex_hashes, self.bits), radius)

    def search_words(self, queries: np.ndarray, radius: int) -> list[list[Match]]:
        """`search_many` for queries already in `hex_to_words` form."""
        if radius < 0:
            raise ValueError("radius must be >= 0")
        queries = np.ascontiguousarray(queries, dtype=np.uint64).reshape(-1, self._words)
        if not len(queries):
            return []
        state = self._state  # one snapshot for the whole call
        radius = min(radius, self.bits)
        query, rows, distance = state.tables.search(queries, radius)
        ids = state.tables.ids[rows]
        if len(state.pending_ids):
            pending_query, pending_rows, pending_distance = _scan(state.pending_codes, queries, radius)
            query = np.concatenate([query, pending_query])
            ids = np.concatenate([ids.astype(np.int64), state.pending_ids[pending_rows].astype(np.int64)])
            distance = np.concatenate([distance, pending_distance])
        order = np.lexsort((ids, distance, query))
        results: list[list[Match]] = [[] for _ in range(len(queries))]
        for q, found_id, d in zip(query[order].tolist(), ids[order].tolist(), distance[order].tolist(), strict=True):
            results[q].append((found_id, d))
        return results
