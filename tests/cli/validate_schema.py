#!/usr/bin/env python3
"""Checks `s1pilot schema` with an independent validator (python3-jsonschema, draft 2020-12):
the schema is itself valid, every example playbook conforms, and playbooks with a misspelt
key, an unknown action or a bad enum value do not.

    validate_schema.py SCHEMA.json SOURCE_DIR
"""
import json
import pathlib
import sys

import jsonschema
import yaml


def main() -> int:
    schema = json.loads(pathlib.Path(sys.argv[1]).read_text())
    source = pathlib.Path(sys.argv[2])
    jsonschema.Draft202012Validator.check_schema(schema)
    validator = jsonschema.Draft202012Validator(schema)
    failures = 0

    examples = sorted((source / "config" / "playbooks").glob("*.yaml"))
    if len(examples) < 4:
        print(f"expected at least 4 example playbooks, found {len(examples)}")
        failures += 1
    for path in examples:
        for error in validator.iter_errors(yaml.safe_load(path.read_text())):
            print(f"{path}: {error.json_path}: {error.message}")
            failures += 1

    invalid = source / "tests" / "data" / "config" / "invalid"
    for name in ["misspelt-match-key.yaml", "misspelt-top-key.yaml", "unknown-action.yaml", "bad-enum-mode.yaml",
                 "bad-incident-status.yaml", "empty-actions.yaml", "bad-name.yaml", "comma-in-list-value.yaml"]:
        if validator.is_valid(yaml.safe_load((invalid / name).read_text())):
            print(f"{name}: the schema accepts it, but it is invalid")
            failures += 1
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
