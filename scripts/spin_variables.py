#!/usr/bin/env python3
"""Writes every application variable of a Spin manifest, resolved once, as a JSON object for
`spin up --variable @FILE.json`.

    python3 scripts/spin_variables.py MANIFEST OUT.json [RUNTIME_CONFIG]

Each variable's value is what Spin's environment provider would give it: `SPIN_VARIABLE_<NAME>`
when set, else the manifest's default. A required variable (no default) that is not set is left
out, so `spin up` still refuses to start without it, as it does without the file.

Why: on Spin 4.0.2 the environment provider looks up every variable under
`tokio::task::block_in_place`, and the first outbound call of each instance resolves *every*
application variable (the outbound-networking factor prepares the allowed hosts). Values given
with `--variable` come from a static provider that Spin asks first, so none of those lookups
reach the environment: 4-11 % more requests per second on the hot routes (docs/benchmarks.md,
"Lean components: where a request's time goes"). The values are the same either way; they are
fixed when Spin starts, as the environment is.

The script writes nothing and exits 3, and the caller starts Spin without the file, where the
values may come from elsewhere: a `.env` file in the working directory (which the environment
provider also reads), or a runtime config that names variable providers of its own
(`[[variables_provider]]`/`[[config_provider]]`: Vault, Azure Key Vault, an environment prefix
other than `SPIN_VARIABLE`), which the file's values would shadow. The output file holds secrets (the HS256 secret): it is created 0600.
"""

import json
import os
import sys
import tomllib


def resolve(manifest_path: str) -> dict:
    with open(manifest_path, "rb") as f:
        manifest = tomllib.load(f)
    values = {}
    for name, spec in manifest.get("variables", {}).items():
        env = os.environ.get(f"SPIN_VARIABLE_{name.upper()}")
        if env is not None:
            values[name] = env
        elif isinstance(spec, dict) and "default" in spec:
            values[name] = str(spec["default"])
    return values


def names_providers(runtime_config_path: str) -> bool:
    with open(runtime_config_path, "rb") as f:
        config = tomllib.load(f)
    return "variables_provider" in config or "config_provider" in config


def main() -> int:
    if len(sys.argv) not in (3, 4):
        print(__doc__.splitlines()[2].strip(), file=sys.stderr)
        return 2
    manifest_path, out = sys.argv[1], sys.argv[2]
    if os.path.exists(".env"):
        print("spin_variables: a .env file is present; not resolving the variables", file=sys.stderr)
        return 3
    if len(sys.argv) == 4 and names_providers(sys.argv[3]):
        print("spin_variables: the runtime config names variable providers; not resolving the variables",
              file=sys.stderr)
        return 3
    values = resolve(manifest_path)
    fd = os.open(out, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        json.dump(values, f)
    return 0


if __name__ == "__main__":
    sys.exit(main())
