import random

import pytest

from corridor.identifiers import (
    container_no_error,
    iso6346_check_digit,
    luhn_check_digit,
    make_container_no,
    make_wagon_no,
    wagon_no_error,
)


@pytest.mark.parametrize("number", ["CSQU3054383", "MSCU6639870"])
def test_valid_container_numbers_pass(number: str) -> None:
    assert container_no_error(number) is None


def test_iso6346_check_digit_by_hand() -> None:
    # C=13 S=30 Q=28 U=32 3 0 5 4 3 8, weights 1, 2, 4, ..., 512:
    # 13 + 60 + 112 + 256 + 48 + 0 + 320 + 512 + 768 + 4096 = 6185; 6185 % 11 = 3.
    assert iso6346_check_digit("CSQU305438") == 3


def test_a_wrong_container_check_digit_says_which_is_right() -> None:
    assert container_no_error("CSQU3054384") == "check digit should be 3, not 4 (ISO 6346)"


@pytest.mark.parametrize("number", ["CSQ3054383", "CSQX3054383", "csqu3054383", "CSQU305438"])
def test_malformed_container_numbers_fail(number: str) -> None:
    assert container_no_error(number) is not None


def test_uic_wagon_number_by_hand() -> None:
    # 21 81 2471 217-3: the UIC 438 worked example.
    assert luhn_check_digit("21812471217") == 3
    assert wagon_no_error("218124712173") is None
    assert wagon_no_error("218124712174") == "check digit should be 3, not 4"


def test_eight_digit_wagon_numbers_use_the_same_rule() -> None:
    # 5 2 3 4 5 6 7 weighted 2 1 2 1 2 1 2: 10 2 6 4 10 6 14, digit sums 1+2+6+4+1+6+5 = 25,
    # so the check digit is 10 - 5 = 5.
    assert luhn_check_digit("5234567") == 5
    assert wagon_no_error("52345675") is None
    assert wagon_no_error("1234567") is not None


def test_generated_numbers_are_valid() -> None:
    rng = random.Random(7)
    for _ in range(200):
        assert container_no_error(make_container_no(rng)) is None
        assert wagon_no_error(make_wagon_no(rng, 8)) is None
        assert wagon_no_error(make_wagon_no(rng, 12)) is None
