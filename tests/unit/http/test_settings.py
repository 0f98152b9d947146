"""The transport settings every vendor config shares, and how a vendor narrows them."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from adapters.dentrix.config import DentrixConfig
from adapters.eaglesoft.config import EaglesoftConfig
from adapters.http.settings import HttpSettings


def test_base_url_must_be_http_and_loses_its_trailing_slash() -> None:
    assert HttpSettings(base_url="https://pms.test/").base_url == "https://pms.test"
    with pytest.raises(ValidationError, match="http"):
        HttpSettings(base_url="ftp://pms.test")


def test_unknown_keys_are_errors_and_settings_are_frozen() -> None:
    with pytest.raises(ValidationError, match="Extra inputs"):
        HttpSettings(base_url="https://pms.test", colour="blue")  # type: ignore[call-arg]
    settings = HttpSettings(base_url="https://pms.test")
    with pytest.raises(ValidationError, match="frozen"):
        settings.page_size = 5  # type: ignore[misc]


@pytest.mark.parametrize(("config", "largest"), [(DentrixConfig, 100), (EaglesoftConfig, 200)])
def test_each_vendor_narrows_the_page_size_to_its_dialect(config: type[HttpSettings], largest: int) -> None:
    field = config.model_fields["page_size"]
    assert field.default == largest
    assert issubclass(config, HttpSettings)
    assert {"base_url", "rate_per_second", "max_attempts"} <= config.model_fields.keys()
