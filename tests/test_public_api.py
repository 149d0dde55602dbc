"""The public namespace: every name in ``__all__`` resolves, lazily, to what it names."""

import importlib

import pytest

import shotpack


def test_all_matches_lazy_exports() -> None:
    assert set(shotpack.__all__) == {"__version__", *shotpack._EXPORTS}
    assert len(shotpack.__all__) == len(set(shotpack.__all__))


@pytest.mark.parametrize("name", sorted(shotpack._EXPORTS))
def test_every_public_name_resolves(name: str) -> None:
    value = getattr(shotpack, name)
    module = importlib.import_module(shotpack._EXPORTS[name])
    assert value is getattr(module, name)
    assert name in dir(shotpack)


def test_unknown_name_is_attribute_error() -> None:
    with pytest.raises(AttributeError, match="no_such_name"):
        _ = shotpack.no_such_name  # type: ignore[attr-defined]


def test_version_matches_extension() -> None:
    from shotpack import _native

    assert shotpack.__version__ == _native.__version__
