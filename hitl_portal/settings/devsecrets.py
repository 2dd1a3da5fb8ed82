"""Per-install secrets for the embedded (local) profile.

A fresh checkout must run with no configuration, but a shared hard-coded key would make every
developer's database readable by every other. So the first run generates a SECRET_KEY and a Fernet
key into `var/dev-secrets.json` (git-ignored) and later runs reuse them.
"""

import json
import secrets
from pathlib import Path

from cryptography.fernet import Fernet


def load_or_create(var_dir: Path) -> dict:
    path = var_dir / "dev-secrets.json"
    if path.exists():
        return json.loads(path.read_text())
    var_dir.mkdir(parents=True, exist_ok=True)
    values = {
        "SECRET_KEY": secrets.token_urlsafe(50),
        "FIELD_ENCRYPTION_KEYS": [Fernet.generate_key().decode()],
    }
    path.write_text(json.dumps(values, indent=2))
    path.chmod(0o600)
    return values
