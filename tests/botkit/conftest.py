from tests.callbacks.conftest import callback_settings, connection, receiver, secret  # noqa: F401
