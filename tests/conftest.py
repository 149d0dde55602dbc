"""Shared pytest configuration."""

from hypothesis import HealthCheck, settings

settings.register_profile(
    "shotpack",
    deadline=None,
    max_examples=60,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
settings.load_profile("shotpack")
