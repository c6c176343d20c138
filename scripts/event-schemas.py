"""Writes docs/events/<DetailType>.schema.json, the JSON Schema of each payment event, from the
event's own fields and docs/openapi.yaml's payment schemas (copied into `$defs`, so that each
file stands alone for a consumer's tools).

    .venv/bin/python scripts/event-schemas.py

crates/handler-tests/tests/payment_events.rs holds the files to this script's output (their
`$defs` to docs/openapi.yaml) and every published event to its schema.
"""

import json
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent

EVENTS = {
    "PaymentCreated": (
        "A payment was created: `payment` is the payment as POST /payments answered it (version 1).",
        {"const": 1},
    ),
    "PaymentUpdated": (
        "A payment was replaced by PUT /payments/{id}: `payment` is its new version.",
        {"type": "integer", "minimum": 2},
    ),
    "PaymentDeleted": (
        "A payment was deleted: `payment` holds the attributes it was deleted with, at the version "
        "the deletion has in the payment's history (one after the last). Its `updated_at` (and "
        "`occurred_at`) is when the table's stream recorded the deletion, to the second.",
        {"type": "integer", "minimum": 2},
    ),
}


def rewrite_refs(node):
    if isinstance(node, dict):
        return {
            key: (value.replace("#/components/schemas/", "#/$defs/") if key == "$ref" else rewrite_refs(value))
            for key, value in node.items()
        }
    if isinstance(node, list):
        return [rewrite_refs(value) for value in node]
    return node


def referenced(schemas, name, found):
    if name in found:
        return
    found.add(name)

    def walk(node):
        if isinstance(node, dict):
            for key, value in node.items():
                if key == "$ref" and value.startswith("#/components/schemas/"):
                    referenced(schemas, value.rsplit("/", 1)[1], found)
                else:
                    walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(schemas[name])


def schema(detail_type, description, version):
    spec = yaml.safe_load((ROOT / "docs/openapi.yaml").read_text())
    schemas = spec["components"]["schemas"]
    names = set()
    referenced(schemas, "Payment", names)
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": f"urn:payments:events:{detail_type}",
        "title": detail_type,
        "description": description
        + " An EventBridge event: the envelope's other fields (id, time, account, region, "
        "resources) are EventBridge's own.",
        "type": "object",
        "required": ["source", "detail-type", "detail"],
        "properties": {
            "source": {"const": "payments"},
            "detail-type": {"const": detail_type},
            "detail": {
                "type": "object",
                "additionalProperties": False,
                "required": [
                    "event_id",
                    "type",
                    "organisation_id",
                    "payment_id",
                    "version",
                    "occurred_at",
                    "payment",
                ],
                "properties": {
                    "event_id": {
                        "description": "`<payment_id>:<version>`: the same for every delivery of "
                        "this change (delivery is at least once), different for every other.",
                        "type": "string",
                        "pattern": "^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}:[1-9][0-9]*$",
                    },
                    "type": {"const": detail_type},
                    "organisation_id": {"$ref": "#/$defs/Uuid"},
                    "payment_id": {"$ref": "#/$defs/Uuid"},
                    "version": version,
                    "occurred_at": {"$ref": "#/$defs/Timestamp"},
                    "payment": {"$ref": "#/$defs/Payment"},
                },
            },
        },
        "$defs": {name: rewrite_refs(schemas[name]) for name in sorted(names)},
    }


def main():
    out = ROOT / "docs/events"
    out.mkdir(exist_ok=True)
    for detail_type, (description, version) in EVENTS.items():
        text = json.dumps(schema(detail_type, description, version), indent=2) + "\n"
        (out / f"{detail_type}.schema.json").write_text(text)
        print(f"docs/events/{detail_type}.schema.json")


if __name__ == "__main__":
    main()
