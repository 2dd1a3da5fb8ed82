from tests.callbacks.conftest import receiver  # noqa: F401
from tests.e2e.conftest import bot, e2e_settings, e2e_worker, provisioned  # noqa: F401
