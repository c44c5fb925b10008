"""The shipped postcode and Berlin street files: derived from the published sources, and nothing lost on the way."""

from pathlib import Path

from hypothesis import given
from hypothesis import strategies as st

from services.routing import derive_places
from services.routing.places import (
    BERLIN_ADDRESS_SOURCE,
    BERLIN_STREETS_FILE,
    POSTCODE_SOURCE,
    POSTCODES_FILE,
    SHIPPED_PLACES,
    expand_house_numbers,
    load_berlin_address_file,
    load_places,
    load_postcode_file,
)


def test_the_shipped_files_are_what_the_script_derives_from_the_sources(sources: Path, tmp_path: Path):
    derive_places.main([str(sources), "--output", str(tmp_path)])
    for name in (POSTCODES_FILE, BERLIN_STREETS_FILE):
        assert (tmp_path / name).read_bytes() == (SHIPPED_PLACES / name).read_bytes(), name


def test_the_shipped_files_give_the_index_that_importing_the_sources_gives(sources: Path):
    postcodes, berlin = load_places()
    assert postcodes == load_postcode_file(sources / POSTCODE_SOURCE)
    assert berlin == load_berlin_address_file(sources / BERLIN_ADDRESS_SOURCE)


def test_the_shipped_files_cover_germany_and_berlin_and_stay_small():
    postcodes, berlin = load_places()
    assert len(postcodes) == 8170
    assert len(berlin.postcodes) > 190 and len(berlin) > 11_000
    for name in (POSTCODES_FILE, BERLIN_STREETS_FILE):
        assert (SHIPPED_PLACES / name).stat().st_size < 400_000, name
    licences = (SHIPPED_PLACES / "LICENSES.md").read_text(encoding="utf-8")
    assert "© OpenStreetMap contributors" in licences and "Geoportal Berlin / Adressen Berlin" in licences


house_numbers = st.one_of(
    st.integers(1, 400).map(str),
    st.tuples(st.integers(1, 400), st.sampled_from("abcdefg")).map(lambda pair: f"{pair[0]}{pair[1]}"),
)


@given(st.sets(house_numbers, min_size=1, max_size=60))
def test_house_numbers_compressed_into_ranges_expand_to_the_same_numbers(numbers: set[str]):
    tokens = derive_places.compress_house_numbers(numbers)
    assert sorted(expand_house_numbers(" ".join(tokens))) == sorted(numbers)
