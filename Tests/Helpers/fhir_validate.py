#!/usr/bin/env python3
"""Validates a FHIR R4 Bundle with a real FHIR model library (fhir.resources, its R4B models).

Usage: fhir_validate.py BUNDLE.json
Prints "ok" and the resource types in order, or the library's error and exits 1. Each entry's
resource is validated twice: inside the Bundle, and again on its own as its declared type.
"""
import importlib
import json
import sys

from fhir.resources.R4B.bundle import Bundle


def validate(model, text):
    if hasattr(model, "model_validate_json"):
        return model.model_validate_json(text)
    return model.parse_raw(text)


def main():
    with open(sys.argv[1], encoding="utf-8") as f:
        text = f.read()
    try:
        bundle = validate(Bundle, text)
        kinds = []
        for entry in json.loads(text)["entry"]:
            kind = entry["resource"]["resourceType"]
            module = importlib.import_module("fhir.resources.R4B." + kind.lower())
            validate(getattr(module, kind), json.dumps(entry["resource"]))
            kinds.append(kind)
    except Exception as error:  # the library's validation error, whatever its class
        print(f"invalid: {error}")
        return 1
    print("ok " + " ".join(kinds) + f" ({len(bundle.entry)} entries)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
