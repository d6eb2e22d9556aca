"""Placeholders shown while an image loads: a BlurHash (https://blurha.sh, 4x3 components) and the
average colour, computed from a tiny thumbnail so the cost is the same for any image size."""

from __future__ import annotations

import math

_B83 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz#$%*+,-.:;=?@[]^_{|}~"


def _b83(value: int, length: int) -> str:
    return "".join(_B83[(value // 83 ** (length - i - 1)) % 83] for i in range(length))


def _linear(v: int) -> float:
    x = v / 255
    return x / 12.92 if x <= 0.04045 else ((x + 0.055) / 1.055) ** 2.4


def _srgb(v: float) -> int:
    x = max(0.0, min(1.0, v))
    return round((x * 12.92 if x <= 0.0031308 else 1.055 * x ** (1 / 2.4) - 0.055) * 255)


def _sign_pow(v: float, exp: float) -> float:
    return math.copysign(abs(v) ** exp, v)


def blurhash(rgb: bytes, width: int, height: int, cx: int = 4, cy: int = 3) -> tuple[str, str]:
    """BlurHash and "#rrggbb" average colour of packed 8-bit RGB pixels (a small thumbnail)."""
    lin = [_linear(b) for b in rgb]
    cos_x = [[math.cos(math.pi * i * x / width) for x in range(width)] for i in range(cx)]
    cos_y = [[math.cos(math.pi * j * y / height) for y in range(height)] for j in range(cy)]
    factors: list[tuple[float, float, float]] = []
    for j in range(cy):
        for i in range(cx):
            norm = (1 if i == 0 and j == 0 else 2) / (width * height)
            r = g = b = 0.0
            for y in range(height):
                row, wy = y * width * 3, cos_y[j][y]
                for x in range(width):
                    w = cos_x[i][x] * wy
                    p = row + x * 3
                    r += w * lin[p]
                    g += w * lin[p + 1]
                    b += w * lin[p + 2]
            factors.append((r * norm, g * norm, b * norm))
    dc, ac = factors[0], factors[1:]
    out = _b83((cx - 1) + (cy - 1) * 9, 1)
    max_ac = max((abs(c) for f in ac for c in f), default=0.0)
    quant = max(0, min(82, math.floor(max_ac * 166 - 0.5))) if ac else 0
    scale = (quant + 1) / 166 if ac else 1.0
    out += _b83(quant, 1)
    colour = (_srgb(dc[0]) << 16) + (_srgb(dc[1]) << 8) + _srgb(dc[2])
    out += _b83(colour, 4)
    for f in ac:
        q = [max(0, min(18, math.floor(_sign_pow(c / scale, 0.5) * 9 + 9.5))) for c in f]
        out += _b83(q[0] * 19 * 19 + q[1] * 19 + q[2], 2)
    return out, f"#{colour:06x}"
