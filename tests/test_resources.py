"""Shipped resources are found by name and are what they claim to be."""

import pytest

from resources import resource_path


def test_icon_is_an_svg():
    text = resource_path("icon.svg").read_text()
    assert text.lstrip().startswith("<svg") and "</svg>" in text


def test_missing_resource_names_the_file():
    with pytest.raises(FileNotFoundError, match="nope.png"):
        resource_path("nope.png")
