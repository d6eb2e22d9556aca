"""The BlurHash placeholder and average colour, checked against the BlurHash format (size flag, DC
colour) and by decoding the hash back into a picture."""

from __future__ import annotations

import blurhash
import pytest
from cryb_plugins.media.placeholder import blurhash as placeholder

B83 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz#$%*+,-.:;=?@[]^_{|}~"


def b83(value: int, length: int) -> str:
    return "".join(B83[(value // 83 ** (length - i - 1)) % 83] for i in range(length))


@pytest.mark.parametrize("colour", [(255, 0, 0), (0, 0, 0), (255, 255, 255), (18, 52, 86)])
def test_a_uniform_picture_hashes_to_its_own_colour(colour):
    width, height = 32, 24
    hash_, average = placeholder(bytes(colour) * width * height, width, height)
    rrggbb = (colour[0] << 16) + (colour[1] << 8) + colour[2]
    # size flag (4x3 -> 3 + 2*9), max AC, the DC colour, then 11 AC terms of 2 characters.
    assert len(hash_) == 28 and hash_[0] == b83(21, 1) and hash_[2:6] == b83(rrggbb, 4)
    decoded = blurhash.decode(hash_, 4, 4)
    assert all(
        abs(c - want) <= 24 for row in decoded for px in row for c, want in zip(px, colour, strict=True)
    )
    assert average == f"#{rrggbb:06x}"


def test_a_red_left_half_decodes_red_on_the_left_blue_on_the_right():
    width, height = 32, 32
    row = bytes((255, 0, 0)) * (width // 2) + bytes((0, 0, 255)) * (width // 2)
    hash_, average = placeholder(row * height, width, height)
    assert len(hash_) == 28
    pixels = blurhash.decode(hash_, 8, 8)
    left, right = pixels[4][0], pixels[4][7]
    assert left[0] > 200 > left[2] and right[2] > 200 > right[0]
    # The average of pure red and pure blue in linear light, back in sRGB: both channels ~188.
    r, g, b = (int(average[i : i + 2], 16) for i in (1, 3, 5))
    assert abs(r - 188) <= 1 and g == 0 and abs(b - 188) <= 1
