"""Equipment identifiers: ISO 6346 container numbers and rail wagon numbers.

Pure functions, shared by ingest (validation) and the simulator (generation).
"""

from __future__ import annotations

import random
import re
import string

CONTAINER_NO = re.compile(r"^[A-Z]{3}[UJZ][0-9]{7}$")
WAGON_NO = re.compile(r"^(?:[0-9]{8}|[0-9]{12})$")


def _letter_values() -> dict[str, int]:
    values, value = {}, 10
    for letter in string.ascii_uppercase:
        if value % 11 == 0:  # ISO 6346 skips multiples of 11
            value += 1
        values[letter] = value
        value += 1
    return values


_LETTERS = _letter_values()


def iso6346_check_digit(first_ten: str) -> int:
    """Check digit of owner code + category + serial (10 characters)."""
    total = sum(
        (_LETTERS[ch] if ch.isalpha() else int(ch)) << index for index, ch in enumerate(first_ten)
    )
    return total % 11 % 10


def container_no_error(value: str) -> str | None:
    """Why ``value`` is not a valid ISO 6346 container number, or ``None``."""
    if not CONTAINER_NO.match(value):
        return "must be 3 owner letters, category U, J or Z, 6 digits and a check digit"
    expected = iso6346_check_digit(value[:10])
    if int(value[10]) != expected:
        return f"check digit should be {expected}, not {value[10]} (ISO 6346)"
    return None


def luhn_check_digit(digits: str) -> int:
    """Rail wagon check digit (UIC 438 and the 1520 mm network): weights 2,1,2,1... from
    the left, digits of the products summed, complement to the next multiple of ten."""
    total = 0
    for index, ch in enumerate(digits):
        product = int(ch) * (2 if index % 2 == 0 else 1)
        total += product // 10 + product % 10
    return (10 - total % 10) % 10


def wagon_no_error(value: str) -> str | None:
    """Why ``value`` is not a valid wagon number (8 or 12 digits), or ``None``."""
    if not WAGON_NO.match(value):
        return "must be 8 digits (1520 mm network) or 12 digits (UIC)"
    expected = luhn_check_digit(value[:-1])
    if int(value[-1]) != expected:
        return f"check digit should be {expected}, not {value[-1]}"
    return None


def make_container_no(rng: random.Random, owner: str = "MCM") -> str:
    first_ten = owner + "U" + f"{rng.randrange(1_000_000):06d}"
    return first_ten + str(iso6346_check_digit(first_ten))


def make_wagon_no(rng: random.Random, digits: int = 8) -> str:
    body = "".join(str(rng.randrange(10)) for _ in range(digits - 1))
    if digits == 8:
        body = "5" + body[1:]  # 1520 mm gondolas and tank wagons commonly start with 5-7
    return body + str(luhn_check_digit(body))


GLN = re.compile(r"^[0-9]{13}$")


def gs1_check_digit(digits: str) -> int:
    """GS1 check digit (GLN, GTIN, SSCC): weights 3 and 1 alternating from the rightmost
    data digit, complement to the next multiple of ten."""
    total = sum(int(ch) * (3 if index % 2 == 0 else 1) for index, ch in enumerate(reversed(digits)))
    return (10 - total % 10) % 10


def gln_error(value: str) -> str | None:
    """Why ``value`` is not a valid GS1 Global Location Number (13 digits), or ``None``."""
    if not GLN.match(value):
        return "must be 13 digits (GS1 GLN)"
    expected = gs1_check_digit(value[:12])
    if int(value[12]) != expected:
        return f"check digit should be {expected}, not {value[12]} (GS1)"
    return None
