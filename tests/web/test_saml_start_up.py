"""Start-up says, loudly, when a SAML user source exists but xmlsec1 does not (ADR 0049)."""

import logging

import pytest

from tessera.app import create_app
from tessera.core.user_sources import SourceKind
from tessera.services.user_source_settings import SourceSettings
from tests.conftest import extra_runtime
from tests.core.test_saml_metadata import entity as idp_entity
from tests.live import serving


@pytest.mark.parametrize("xmlsec1_there", [True, False])
def test_start_up_logs_an_error_for_a_saml_source_without_xmlsec1(
    database_url: str,
    caplog: pytest.LogCaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
    xmlsec1_there: bool,
) -> None:
    with extra_runtime(database_url) as runtime:
        runtime.services.user_sources.create(
            SourceSettings(title="Staff SAML", idp_metadata=idp_entity()), kind=SourceKind.SAML
        )
        if not xmlsec1_there:
            monkeypatch.setenv("PATH", "/nonexistent")
        with (
            caplog.at_level(logging.ERROR, logger="tessera.app"),
            serving(create_app(runtime=runtime)),
        ):
            pass

    errors = [r.getMessage() for r in caplog.records if r.name == "tessera.app"]
    said = [message for message in errors if "xmlsec1 is not installed" in message]
    assert len(said) == (0 if xmlsec1_there else 1), errors
    if said:
        assert "Staff SAML" in said[0]
