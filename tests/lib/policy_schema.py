#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-only
"""Check policy/schema/toolwall-policy.schema.json against the policies.

    policy_schema.py

Every file of every example policy (policy/examples/) and of the valid
test policies (tests/policy/: every field, each set once) must be valid;
every
malformed policy (tests/malformed/*.json) must be rejected (not JSON, a
duplicate key, or a schema violation), except the cases below that only
`toolwall check` can see, which must be accepted (so this list stays
true). A file may hold several top-level values one after another; each is
validated. Prints one line per file, exit 1 on any surprise.
"""
import glob
import json
import os
import sys

import jsonschema

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..")
SCHEMA = os.path.join(ROOT, "policy", "schema", "toolwall-policy.schema.json")

# Malformed cases whose every error needs the whole policy or arithmetic.
BEYOND_SCHEMA = {
    "dangling-refs": "references to bundles and workspaces that do not exist",
    "duplicates": "the same name defined twice, across objects",
    "no-workspace": "a policy with no workspace at all (a file alone may have none)",
    "personal-grants": "personal bundles granted outside a DM",
    "host-bits": "CIDR host bits set",
}


def no_dup_keys(pairs):
    keys = [k for k, _ in pairs]
    dup = {k for k in keys if keys.count(k) > 1}
    if dup:
        raise ValueError("duplicate key %s" % sorted(dup)[0])
    return dict(pairs)


def values(path):
    """The top-level JSON values of a file, in order."""
    text = open(path, encoding="utf-8").read()
    dec = json.JSONDecoder(object_pairs_hook=no_dup_keys)
    out, i = [], 0
    while True:
        while i < len(text) and text[i].isspace():
            i += 1
        if i >= len(text):
            break
        v, i = dec.raw_decode(text, i)
        out.append(v)
    if not out:
        raise ValueError("empty file")
    return out


def problems(validator, path):
    """[] when the file is valid, else what is wrong with it."""
    try:
        vals = values(path)
    except ValueError as e:
        return ["not a policy file: %s" % e]
    errs = []
    for v in vals:
        for e in validator.iter_errors(v):
            errs.append("%s: %s" % ("/".join(map(str, e.absolute_path)) or "(top)",
                                    e.message[:160]))
    return errs


def main():
    schema = json.load(open(SCHEMA))
    cls = jsonschema.validators.validator_for(schema)
    cls.check_schema(schema)
    validator = cls(schema)
    bad = 0
    examples = sorted(glob.glob(os.path.join(ROOT, "policy", "examples", "**", "*.json"),
                                recursive=True))
    examples += sorted(glob.glob(os.path.join(ROOT, "tests", "policy", "*.json")))
    if not examples:
        print("FAIL no example policy found")
        return 1
    for f in examples:
        errs = problems(validator, f)
        rel = os.path.relpath(f, ROOT)
        if errs:
            bad += 1
            print("FAIL %s: the schema rejects an example: %s" % (rel, errs[0]))
        else:
            print("ok   %s: valid" % rel)
    for f in sorted(glob.glob(os.path.join(ROOT, "tests", "malformed", "*.json"))):
        name = os.path.basename(f)[:-5]
        errs = problems(validator, f)
        rel = os.path.relpath(f, ROOT)
        if name in BEYOND_SCHEMA:
            if errs:
                bad += 1
                print("FAIL %s: listed as beyond the schema, but it rejects it: %s "
                      "(move it out of BEYOND_SCHEMA)" % (rel, errs[0]))
            else:
                print("ok   %s: valid to the schema (only check sees: %s)"
                      % (rel, BEYOND_SCHEMA[name]))
        elif errs:
            print("ok   %s: rejected (%d problems; first: %s)" % (rel, len(errs), errs[0]))
        else:
            bad += 1
            print("FAIL %s: the schema accepts a malformed policy" % rel)
    print("schema: %d files checked, %d surprises" % (len(examples) + len(
        glob.glob(os.path.join(ROOT, "tests", "malformed", "*.json"))), bad))
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
