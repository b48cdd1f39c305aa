#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-only
"""The policy reference keeps up with the parser.

    policy_doc.py

1. Every key the parser knows (the schema tables of user/policy/*.[ch]:
   FIELD, LIST, TEXT, TAKE and nested-object rows) is a property of the JSON
   Schema, in an object of the same kind.
2. Every property of the JSON Schema appears in toolwall-policy(5) as a
   term (a .B/.BR line naming it).
3. tests/policy/every-field.json (which `check` and the schema must both
   accept) sets every key the parser knows.
Prints each miss as "FAIL ...", exit 1 if there is any.
"""
import glob
import json
import os
import re
import sys

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..")


def parser_keys():
    """{table name: {keys}} from the parser's `static const struct tw_field X_fields[]`."""
    src = "\n".join(open(p).read() for p in sorted(
        glob.glob(os.path.join(ROOT, "user", "policy", "*.[ch]"))))
    tables = {}
    for m in re.finditer(r"(\w+)(?:##)?_fields\[\] = \{(.*?)\n\s*\};", src, re.S):
        keys = set(re.findall(r'(?:FIELD|LIST|TAKE)\([^,]+,\s*"(\w+)"', m.group(2)))
        keys |= set(re.findall(r'TEXT\("(\w+)"\)', m.group(2)))
        keys |= set(re.findall(r'\{\s*"(\w+)",\s*F_\w+', m.group(2)))
        tables[m.group(1)] = keys
    return tables


# parser table -> the schema's $defs entry of the same kind
TABLE_TO_DEF = {
    "workspace": "workspace", "bundle": "bundle", "channel": "channel",
    "dm": "dm", "credential": "credential", "repository": "repository",
    "agent": ("workspace", "agent"), "dns": ("workspace", "dns"),
    "ch_dns": ("channel", "dns"), "dm_dns": ("dm", "dns"),
    "broker": ("workspace", "broker"),
    "name": "limits",  # LIMITS_SCHEMA(name, st): name##_fields
}


def schema_props(schema):
    out = set()

    def walk(node):
        if isinstance(node, dict):
            for k, v in node.get("properties", {}).items():
                out.add(k)
            for v in node.values():
                walk(v)
        elif isinstance(node, list):
            for v in node:
                walk(v)
    walk(schema)
    return out


def main():
    schema = json.load(open(os.path.join(ROOT, "policy", "schema",
                                         "toolwall-policy.schema.json")))
    defs = schema["$defs"]
    fails = []
    tables = parser_keys()
    if len(tables) < 8:
        fails.append("found only %d schema tables in user/policy/" % len(tables))
    for table, keys in tables.items():
        where = TABLE_TO_DEF.get(table)
        if where is None:
            fails.append("parser table %s_fields has no counterpart in the schema "
                         "(add it to TABLE_TO_DEF)" % table)
            continue
        node = defs[where] if isinstance(where, str) else \
            defs[where[0]]["properties"][where[1]]
        have = set(node.get("properties", {}))
        for k in sorted(keys - have):
            fails.append("key %r of the parser's %s table is not in the schema's %s"
                         % (k, table, where))
    man = open(os.path.join(ROOT, "man", "toolwall-policy.5")).read()
    terms = set()
    for line in man.splitlines():
        if re.match(r"^\.(B|BR|BI)\s", line):
            terms |= set(re.findall(r"[a-z_]+", line.split(None, 1)[1]))
    for p in sorted(schema_props(schema)):
        if p not in terms:
            fails.append("schema property %r is not a term of toolwall-policy(5)" % p)
    used = set()

    def keys_of(node):
        if isinstance(node, dict):
            used.update(node)
            for v in node.values():
                keys_of(v)
        elif isinstance(node, list):
            for v in node:
                keys_of(v)
    keys_of(json.load(open(os.path.join(ROOT, "tests", "policy", "every-field.json"))))
    for k in sorted(set().union(*tables.values()) - used):
        fails.append("tests/policy/every-field.json does not set %r" % k)
    for f in fails:
        print("FAIL", f)
    print("policy reference: %d parser tables, %d schema properties, %d misses"
          % (len(tables), len(schema_props(schema)), len(fails)))
    return 1 if fails else 0


if __name__ == "__main__":
    sys.exit(main())
