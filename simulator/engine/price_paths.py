"""Deterministic unit Brownian paths: the random source of every simulated price.

A path is a standard Brownian motion W(t) (variance 1 per year) defined for every quarter second of UTC time,
built in four levels so that any point costs the same whatever was asked before and whatever window it is asked
in: day boundaries (00:00 UTC) are a random walk from W = 0 at ANCHOR; the 48 half-hour grid points of a day are
a Brownian bridge between its two day boundaries; the 30 minutes of a half hour are a bridge between its two grid
points; the 240 quarter seconds of a minute are a bridge between its two minutes. Every random number is a hash of (seed, path name, stream, index), never a generator's state, so a value
depends only on the seed, the path and the time.
"""

from __future__ import annotations

import hashlib
from datetime import datetime, timezone

import numpy as np

ANCHOR = datetime(2026, 7, 1, tzinfo=timezone.utc)
MINUTE_S = 60
# IB streams "aggregated snapshots taken at intra-second intervals": 250 ms for stocks, futures and others
# (TWS API docs, top_data.html), so prices move on a quarter-second lattice
TICK_S = 0.25
TICKS_PER_MINUTE = 240
GRID_S = 1800
DAY_S = 86400
YEAR_S = 365.25 * DAY_S
STEPS_PER_DAY = DAY_S // GRID_S
MINUTES_PER_STEP = GRID_S // MINUTE_S
ANCHOR_DAY = int(ANCHOR.timestamp()) // DAY_S
CHUNK_DAYS = 512
DAY_CACHE_LIMIT = 50_000

STREAM_DAY, STREAM_GRID, STREAM_MINUTE, STREAM_TICK = 1, 2, 3, 4

_GOLDEN = np.uint64(0x9E3779B97F4A7C15)
_MIX_1 = np.uint64(0xBF58476D1CE4E5B9)
_MIX_2 = np.uint64(0x94D049BB133111EB)
_SALTS = (np.uint64(0xD6E8FEB86659FD93), np.uint64(0x7C8A5E0F6B3D2A19))


def _splitmix(values: np.ndarray) -> np.ndarray:
    """SplitMix64 finaliser on a uint64 array (wrapping arithmetic)."""
    x = values + _GOLDEN
    x = (x ^ (x >> np.uint64(30))) * _MIX_1
    x = (x ^ (x >> np.uint64(27))) * _MIX_2
    return x ^ (x >> np.uint64(31))


def name_key(seed: int, name: str, stream: int) -> np.uint64:
    """A 64-bit key for one random stream of one named path under one seed."""
    digest = hashlib.blake2b(f"{seed}\x00{name}\x00{stream}".encode(), digest_size=8).digest()
    return np.uint64(int.from_bytes(digest, "little"))


def uniforms(key: np.uint64, indices: np.ndarray, salt: int = 0) -> np.ndarray:
    """Uniform numbers in [0, 1), one per index, a pure function of (key, index, salt in {0, 1})."""
    raw = np.atleast_1d(np.asarray(indices, dtype=np.int64)).astype(np.uint64)
    mixed = _splitmix(_splitmix(raw ^ key) ^ _SALTS[salt])
    return (mixed >> np.uint64(11)).astype(np.float64) * (1.0 / (1 << 53))


def normals(key: np.uint64, indices: np.ndarray) -> np.ndarray:
    """Standard normal numbers, one per index (Box-Muller on two hashed uniforms)."""
    u1 = 1.0 - uniforms(key, indices, 0)
    u2 = uniforms(key, indices, 1)
    return np.sqrt(-2.0 * np.log(u1)) * np.cos(2.0 * np.pi * u2)


def _bridge(start: np.ndarray, end: np.ndarray, steps: np.ndarray) -> np.ndarray:
    """Brownian bridges: row i goes from start[i] to end[i] through the scaled normal `steps[i]`."""
    walk = np.concatenate([np.zeros((steps.shape[0], 1)), np.cumsum(steps, axis=1)], axis=1)
    fraction = np.arange(steps.shape[1] + 1) / steps.shape[1]
    return start[:, None] + walk - fraction * (walk[:, -1:] - (end - start)[:, None])


class UnitPath:
    """One standard Brownian path W(t), t in whole minutes of UTC epoch time.

    Parameters:
        seed: the simulation seed.
        name: the path's name ("SPY", "FX:EUR", ...); different names give independent paths.
    """

    def __init__(self, seed: int, name: str):
        self.name = name
        self._day_key = name_key(seed, name, STREAM_DAY)
        self._grid_key = name_key(seed, name, STREAM_GRID)
        self._minute_key = name_key(seed, name, STREAM_MINUTE)
        self._tick_key = name_key(seed, name, STREAM_TICK)
        self._chunks: dict[int, np.ndarray] = {}
        self._days: dict[int, np.ndarray] = {}

    def _chunk(self, chunk: int) -> np.ndarray:
        """W at the CHUNK_DAYS + 1 day boundaries starting at day ANCHOR_DAY + chunk * CHUNK_DAYS."""
        cached = self._chunks.get(chunk)
        if cached is not None:
            return cached
        first_day = ANCHOR_DAY + chunk * CHUNK_DAYS
        steps = normals(self._day_key, np.arange(first_day, first_day + CHUNK_DAYS)) * np.sqrt(DAY_S / YEAR_S)
        walk = np.concatenate([[0.0], np.cumsum(steps)])
        if chunk == 0:
            start = 0.0
        elif chunk > 0:
            start = self._chunk(chunk - 1)[-1]
        else:
            start = self._chunk(chunk + 1)[0] - walk[-1]
        values = start + walk
        self._chunks[chunk] = values
        return values

    def day_levels(self, days: np.ndarray) -> np.ndarray:
        """W at 00:00 UTC of each day (days since the epoch)."""
        days = np.asarray(days, dtype=np.int64)
        offsets = days - ANCHOR_DAY
        chunks = offsets // CHUNK_DAYS
        result = np.empty(days.shape, dtype=np.float64)
        for chunk in np.unique(chunks):
            mask = chunks == chunk
            result[mask] = self._chunk(int(chunk))[offsets[mask] - chunk * CHUNK_DAYS]
        return result

    def _day_rows(self, first_day: int, last_day: int) -> np.ndarray:
        """(days, 49) array: W at the half-hour grid points of each day, both boundaries included."""
        missing = [day for day in range(first_day, last_day + 1) if day not in self._days]
        if missing:
            if len(self._days) + len(missing) > DAY_CACHE_LIMIT:
                self._days.clear()
                missing = list(range(first_day, last_day + 1))
            days = np.asarray(missing, dtype=np.int64)
            levels_start = self.day_levels(days)
            levels_end = self.day_levels(days + 1)
            indices = (days[:, None] * STEPS_PER_DAY + np.arange(STEPS_PER_DAY)).ravel()
            steps = normals(self._grid_key, indices).reshape(len(days), STEPS_PER_DAY) * np.sqrt(GRID_S / YEAR_S)
            rows = _bridge(levels_start, levels_end, steps)
            for day, row in zip(missing, rows):
                self._days[day] = row
        return np.stack([self._days[day] for day in range(first_day, last_day + 1)])

    def grid(self, first: int, last: int) -> np.ndarray:
        """W at half-hour grid points first..last inclusive (grid index = epoch seconds // 1800)."""
        first_day, last_day = first // STEPS_PER_DAY, last // STEPS_PER_DAY
        rows = self._day_rows(first_day, last_day)
        flat = np.concatenate([rows[:, :STEPS_PER_DAY].ravel(), rows[-1, STEPS_PER_DAY:]])
        offset = first_day * STEPS_PER_DAY
        return flat[first - offset:last - offset + 1]

    def minutes(self, blocks: np.ndarray, start: np.ndarray, end: np.ndarray) -> np.ndarray:
        """(blocks, 31) array: W at the minutes of each half-hour block, given W at its two grid points."""
        blocks = np.asarray(blocks, dtype=np.int64)
        indices = (blocks[:, None] * MINUTES_PER_STEP + np.arange(MINUTES_PER_STEP)).ravel()
        steps = normals(self._minute_key, indices).reshape(len(blocks), MINUTES_PER_STEP) * np.sqrt(MINUTE_S / YEAR_S)
        return _bridge(np.asarray(start, dtype=np.float64), np.asarray(end, dtype=np.float64), steps)

    def at(self, times_s: np.ndarray) -> np.ndarray:
        """W at minute-aligned epoch seconds."""
        times_s = np.asarray(times_s, dtype=np.int64)
        grid_index = times_s // GRID_S
        first = int(grid_index.min())
        grid = self.grid(first, int(grid_index.max()) + 1)
        values = grid[grid_index - first].copy()
        off_grid = times_s % GRID_S != 0
        if off_grid.any():
            blocks = np.unique(grid_index[off_grid])
            table = self.minutes(blocks, grid[blocks - first], grid[blocks - first + 1])
            rows = np.searchsorted(blocks, grid_index[off_grid])
            values[off_grid] = table[rows, (times_s[off_grid] % GRID_S) // MINUTE_S]
        return values

    def ticks(self, minutes: np.ndarray) -> np.ndarray:
        """(minutes, TICKS_PER_MINUTE + 1) array: W at the quarter seconds of each minute (minutes since the
        epoch), both of the minute's ends included."""
        minutes = np.asarray(minutes, dtype=np.int64)
        ends = self.at(np.concatenate([minutes, minutes + 1]) * MINUTE_S)
        indices = (minutes[:, None] * TICKS_PER_MINUTE + np.arange(TICKS_PER_MINUTE)).ravel()
        steps = normals(self._tick_key, indices).reshape(len(minutes), TICKS_PER_MINUTE) * np.sqrt(TICK_S / YEAR_S)
        return _bridge(ends[:len(minutes)], ends[len(minutes):], steps)
