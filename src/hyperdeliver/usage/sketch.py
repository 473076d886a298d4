"""UserSketch: distinct users, exact for small sets, HyperLogLog (p=12) beyond; mergeable.

Serialized as bytes: ``b"E"`` + sorted 8-byte hashes (exact, up to 64 users), or
``b"H"`` + 4,096 one-byte registers (standard error ≈ 1.6 %). Merging two sketches is
the union (exact) or the register-wise max (HLL), so week and month counts are merged
from day sketches, in Python, on SQLite and PostgreSQL alike.

Example:
    >>> s = UserSketch(); s.add_many(range(50)); s.count()
    50
    >>> big = UserSketch(); big.add_many(range(20_000)); abs(big.count() - 20_000) < 1_000
    True
"""

from __future__ import annotations

import math
import struct
from collections.abc import Iterable

P = 12
M = 1 << P
EXACT_MAX = 64
_MASK = (1 << 64) - 1
_ALPHA = 0.7213 / (1 + 1.079 / M)


def hash_user(user_id: int) -> int:
    """splitmix64: a cheap, well-mixed 64-bit hash of the user id."""
    z = (user_id + 0x9E3779B97F4A7C15) & _MASK
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & _MASK
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & _MASK
    return z ^ (z >> 31)


class UserSketch:
    __slots__ = ("exact", "registers")

    def __init__(self) -> None:
        self.exact: set[int] | None = set()
        self.registers: bytearray | None = None

    def _to_hll(self) -> None:
        regs = bytearray(M)
        _put_all(regs, self.exact or ())
        self.registers, self.exact = regs, None

    def add_hashes(self, hashes: Iterable[int]) -> None:
        if self.exact is not None:
            self.exact.update(hashes)
            if len(self.exact) > EXACT_MAX:
                self._to_hll()
            return
        assert self.registers is not None
        _put_all(self.registers, hashes)

    def add_many(self, user_ids: Iterable[int]) -> None:
        self.add_hashes(hash_user(u) for u in user_ids)

    def merge(self, other: UserSketch) -> None:
        if other.exact is not None:
            self.add_hashes(other.exact)
            return
        if self.exact is not None:
            self._to_hll()
        assert self.registers is not None and other.registers is not None
        self.registers = bytearray(max_registers(self.registers, other.registers))

    def count(self) -> int:
        if self.exact is not None:
            return len(self.exact)
        regs = self.registers
        assert regs is not None
        zeros = regs.count(0)
        # a histogram of register values (bytes.count runs in C) instead of a Python loop
        total, seen, v = 0.0, 0, 0
        while seen < M:
            c = regs.count(v)
            seen += c
            total += c * 2.0**-v
            v += 1
        est = _ALPHA * M * M / total
        if est <= 2.5 * M and zeros:
            est = M * math.log(M / zeros)
        return int(round(est))

    def to_bytes(self) -> bytes:
        if self.exact is not None:
            hs = sorted(self.exact)
            return b"E" + struct.pack(f"<{len(hs)}Q", *hs)
        assert self.registers is not None
        return b"H" + bytes(self.registers)

    @classmethod
    def from_bytes(cls, data: bytes | None) -> UserSketch:
        s = cls()
        if not data:
            return s
        data = bytes(data)
        if data[:1] == b"E":
            n = (len(data) - 1) // 8
            s.exact = set(struct.unpack(f"<{n}Q", data[1:]))
        else:
            s.exact, s.registers = None, bytearray(data[1:])
        return s


_LANES_H = int.from_bytes(b"\x80" * M, "little")
_LANES_ALL = (1 << (8 * M)) - 1


def max_registers(a: bytes | bytearray, b: bytes | bytearray) -> bytes:
    """Register-wise max of two HLL register arrays, 8-bit SWAR on Python ints (no loop).

    Registers are at most 65 < 128, so per lane ``(a | 0x80) - b`` never borrows and keeps
    its high bit exactly where ``a >= b``.

    >>> max_registers(bytes([1, 9, 3] + [0] * (M - 3)), bytes([5, 2, 3] + [0] * (M - 3)))[:3]
    b'\\x05\\t\\x03'
    """
    x = int.from_bytes(a, "little")
    y = int.from_bytes(b, "little")
    ge = (((x | _LANES_H) - y) & _LANES_H) >> 7
    mask = ge * 0xFF
    return ((x & mask) | (y & (_LANES_ALL ^ mask))).to_bytes(M, "little")


def union(blobs: Iterable[bytes | UserSketch | None]) -> UserSketch:
    """One sketch from many (serialized or not): HLL registers are max-ed as Python ints.

    >>> a, b = UserSketch(), UserSketch(); a.add_many(range(10)); b.add_many(range(5, 20))
    >>> union([a.to_bytes(), b, None]).count()
    20
    """
    exact: set[int] = set()
    acc: int | None = None
    for item in blobs:
        if item is None:
            continue
        if isinstance(item, UserSketch):
            if item.exact is not None:
                exact |= item.exact
                continue
            assert item.registers is not None
            y = int.from_bytes(item.registers, "little")
        elif item[:1] == b"E":
            exact |= UserSketch.from_bytes(item).exact or set()
            continue
        else:  # serialized registers: straight into an int, no intermediate copy
            y = int.from_bytes(memoryview(item)[1:], "little")
        if acc is None:
            acc = y
        else:
            mask = ((((acc | _LANES_H) - y) & _LANES_H) >> 7) * 0xFF
            acc = (acc & mask) | (y & (_LANES_ALL ^ mask))
    out = UserSketch()
    if acc is not None:
        out.exact, out.registers = None, bytearray(acc.to_bytes(M, "little"))
    out.add_hashes(exact)
    return out


def _put_all(regs: bytearray, hashes: Iterable[int]) -> None:
    """Each hash into the registers: the top P bits pick one, the rank of the first 1
    among the rest is kept when larger (one loop, no call per hash)."""
    shift, mask, floor = 64 - P, _MASK, 64 - P + 1
    for h in hashes:
        w = (h << P) & mask
        rank = 65 - w.bit_length() if w else floor
        i = h >> shift
        if rank > regs[i]:
            regs[i] = rank
