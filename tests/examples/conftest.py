from tests.e2e.conftest import e2e_settings, provisioned  # noqa: F401
