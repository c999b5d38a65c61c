#!/usr/bin/env python3
"""Scrapes a Prometheus endpoint and parses it with the Prometheus project's own Python client
parser (PyPI's prometheus-client), not with string checks.

Usage: prometheus_scrape.py URL
Prints one JSON object: {"status": HTTP status, "content_type": ..., "families": {name: {"type":
..., "help": ..., "samples": [[sample name, labels, value], ...]}}}; exits 1 with the parser's
error when the text is not a valid exposition.
"""
import json
import math
import sys
import urllib.error
import urllib.request

from prometheus_client.parser import text_string_to_metric_families


def main():
    try:
        with urllib.request.urlopen(sys.argv[1], timeout=10) as response:
            status, content_type = response.status, response.headers.get("Content-Type")
            text = response.read().decode("utf-8")
    except urllib.error.HTTPError as error:
        print(json.dumps({"status": error.code, "body": error.read().decode("utf-8", "replace")}))
        return 0
    try:
        families = {}
        for family in text_string_to_metric_families(text):
            families[family.name] = {
                "type": family.type,
                "help": family.documentation,
                "samples": [
                    [s.name, s.labels, None if math.isnan(s.value) else s.value] for s in family.samples
                ],
            }
    except Exception as error:  # the parser's own complaint, whatever its type
        print(f"not a valid exposition: {error!r}", file=sys.stderr)
        return 1
    print(json.dumps({"status": status, "content_type": content_type, "families": families}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
