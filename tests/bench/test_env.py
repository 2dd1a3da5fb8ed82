"""The environments the bench gives the processes it starts."""

from __future__ import annotations

import environ

from bench import env


def test_the_sandbox_keeps_its_database_connections_like_the_portal(monkeypatch):
    monkeypatch.setattr(env, "DATABASE_URL", "postgres://postgres@127.0.0.1:5432/hitl_bench?sslmode=disable")
    monkeypatch.setattr(env, "_secrets", lambda: {})
    ports = env.Ports(8001, 8002, 8003)

    sandbox = environ.Env.db_url_config(env.sandbox_env(ports)["DATABASE_URL"])
    portal = environ.Env.db_url_config(env.portal_env(ports)["DATABASE_URL"])

    # a connection per request cost the sandbox a PostgreSQL backend's start per status PATCH
    assert sandbox["CONN_MAX_AGE"] == 60
    assert (sandbox["NAME"], sandbox["HOST"], sandbox["OPTIONS"]) == (
        portal["NAME"],
        portal["HOST"],
        {"sslmode": "disable"},
    )
