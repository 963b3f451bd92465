"""Every registered variant, built-in or third-party, passes the conformance check."""

import pytest

import ganzoo
from ganzoo.testing import check_variant


@pytest.mark.parametrize("name", ganzoo.list_variants())
def test_variant_conforms(name, tmp_path):
    check_variant(name, tmp_path)
