"""What the helpdesk says about itself: the build number and the installation's UUID."""

import uuid

import pytest

from tessera.core.site import SiteInfo, derived_helpdesk_uuid


@pytest.mark.parametrize(
    ("version", "build_id"),
    [("0.1.0", 1000), ("1.2.3", 1002003), ("2.0", 2000000), ("1.10.0rc1", 1010000)],
)
def test_the_build_id_grows_with_the_version(version: str, build_id: int) -> None:
    assert SiteInfo(public_url="https://help.example", version=version).build_id == build_id


def test_the_helpdesk_uuid_depends_on_the_key_alone() -> None:
    key = b"k" * 32

    first, again = derived_helpdesk_uuid(key), derived_helpdesk_uuid(bytes(key))

    assert first == again
    assert uuid.UUID(first).version == 4
    assert derived_helpdesk_uuid(b"j" * 32) != first
