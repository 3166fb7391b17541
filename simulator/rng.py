"""Counter-based random numbers: every draw is a hash of (seed, stream, entity, day, ...).

Why not a sequential generator: a draw keyed by *who* and *when* is the same whatever else
happens in the run. That gives three properties the simulator relies on:

* common random numbers: replaying the world under another contact policy changes only the
  draws that the policy's actions create; an account's income shock, payday or daily payment
  uniform are identical under every policy, so policy comparisons are not drowned in noise;
* exogenous vs policy-dependent streams are separate by construction (different stream names);
* results do not depend on how accounts are split into blocks or ordered in memory.

The hash is the splitmix64 finaliser applied in rounds, vectorised over uint64 arrays
(array arithmetic wraps modulo 2**64 silently, which is the intent).
"""

from __future__ import annotations

import hashlib

import numpy as np

_MASK = (1 << 64) - 1
_GOLDEN = 0x9E3779B97F4A7C15
_M1 = np.uint64(0xBF58476D1CE4E5B9)
_M2 = np.uint64(0x94D049BB133111EB)
_G = np.uint64(_GOLDEN)
_S30, _S27, _S31, _S11, _S32 = (np.uint64(s) for s in (30, 27, 31, 11, 32))


def _fmix(x: np.ndarray) -> np.ndarray:
    x = x ^ (x >> _S30)
    x = x * _M1
    x = x ^ (x >> _S27)
    x = x * _M2
    return x ^ (x >> _S31)


def _as_u64(values: np.ndarray | int) -> np.ndarray:
    return np.asarray(values).astype(np.uint64)


class Stream:
    """A named family of draws; `uniform(ids, day, k)` is a pure function of its arguments."""

    def __init__(self, seed: int, name: str) -> None:
        digest = hashlib.blake2b(f"{seed}/{name}".encode(), digest_size=8).digest()
        self.name = name
        self.key = np.uint64(int.from_bytes(digest, "little"))

    def bits(self, ids: np.ndarray, *counters: int | np.ndarray) -> np.ndarray:
        """64 random bits per id; counters (scalars or arrays) select independent draws."""
        x = _fmix(_as_u64(ids) * _G + self.key)
        for c in counters:
            if np.ndim(c) == 0:
                x = _fmix(x + np.uint64((int(c) * _GOLDEN + 1) & _MASK))
            else:
                x = _fmix(x + (_as_u64(c) + np.uint64(1)) * _G)
        return x

    def uniform(self, ids: np.ndarray, *counters: int | np.ndarray) -> np.ndarray:
        """Uniform draws in the open interval (0, 1), float64."""
        return ((self.bits(ids, *counters) >> _S11).astype(np.float64) + 0.5) * (2.0**-53)

    def normal(self, ids: np.ndarray, *counters: int | np.ndarray) -> np.ndarray:
        """Standard normal draws (Box-Muller on the two 32-bit halves of one hash)."""
        x = self.bits(ids, *counters)
        u1 = ((x >> _S32).astype(np.float64) + 0.5) * (2.0**-32)
        u2 = ((x & np.uint64(0xFFFFFFFF)).astype(np.float64) + 0.5) * (2.0**-32)
        return np.sqrt(-2.0 * np.log(u1)) * np.cos(2.0 * np.pi * u2)

    def choice(self, ids: np.ndarray, weights: np.ndarray, *counters: int | np.ndarray) -> np.ndarray:
        """Index drawn with the given (unnormalised) weights, int16."""
        cum = np.cumsum(np.asarray(weights, dtype=np.float64))
        u = self.uniform(ids, *counters) * cum[-1]
        return np.minimum(np.searchsorted(cum, u, side="right"), len(cum) - 1).astype(np.int16)

    def integers(self, ids: np.ndarray, low: int, high: int, *counters: int | np.ndarray) -> np.ndarray:
        """Integers in [low, high] inclusive, int32."""
        u = self.uniform(ids, *counters)
        return (low + np.floor(u * (high - low + 1))).astype(np.int32)


class Streams:
    """The run's streams. Exogenous ones never see policy actions; policy ones only do."""

    EXOGENOUS = ("borrower", "account", "shock", "ontime", "hazard", "amount", "clock", "event")
    POLICY = ("contact", "bau")

    def __init__(self, seed: int) -> None:
        for name in self.EXOGENOUS + self.POLICY:
            setattr(self, name, Stream(seed, name))

    borrower: Stream
    account: Stream
    shock: Stream
    ontime: Stream
    hazard: Stream
    amount: Stream
    clock: Stream
    event: Stream
    contact: Stream
    bau: Stream


def sigmoid(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-x))
