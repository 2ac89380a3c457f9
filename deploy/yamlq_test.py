#!/usr/bin/env python3
"""Tests of yamlq.py's subset parser: python3 deploy/yamlq_test.py.

Each case is parsed by the subset parser and compared with the value it must
give; when PyYAML is installed, PyYAML must give the same value, so the cases
also prove that the subset parser reads these constructs as YAML does.
"""

import os
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import yamlq  # noqa: E402

CASES = [
    ("scalars", 'a: 1\nb: "2"\nc: x y\nd: true\ne: "false"\nf:\ng: 1.5\nh: \'it\'\'s\'\n',
     {"a": 1, "b": "2", "c": "x y", "d": True, "e": "false", "f": None, "g": 1.5, "h": "it's"}),
    ("comments", "# head\na: 1 # trailing\nb: 'x # not a comment'\nc: x#y\n",
     {"a": 1, "b": "x # not a comment", "c": "x#y"}),
    ("nested mapping", "a:\n  b:\n    c: d\n  e: f\n", {"a": {"b": {"c": "d"}, "e": "f"}}),
    ("block list", "a:\n  - x\n  - 'y'\n  - 3\n", {"a": ["x", "y", 3]}),
    ("list at the key's indent", "a:\n- x\n- y\nb: z\n", {"a": ["x", "y"], "b": "z"}),
    ("list of mappings", "a:\n  - k: 1\n    l: 2\n  - k: 3\n", {"a": [{"k": 1, "l": 2}, {"k": 3}]}),
    ("flow list", 'a: ["CMD", "x y", 3, plain]\nb: []\nc: {}\n', {"a": ["CMD", "x y", 3, "plain"], "b": [], "c": {}}),
    ("plain scalars with colons and quotes", 'a: 80:80\nb: x:y\nc: sh -c "a $$(b)" --save ""\n',
     {"a": "80:80", "b": "x:y", "c": 'sh -c "a $$(b)" --save ""'}),
    ("escapes", 'a: "q\\"t \\\\ n"\n', {"a": 'q"t \\ n'}),
    ("anchor and alias", "x: &s 10.0.0.0/24\na:\n  b: *s\n", {"x": "10.0.0.0/24", "a": {"b": "10.0.0.0/24"}}),
    ("merge key: explicit keys win", "base: &b\n  k: 1\n  l: 2\nm:\n  <<: *b\n  l: 3\n",
     {"base": {"k": 1, "l": 2}, "m": {"k": 1, "l": 3}}),
    ("merge of a merged mapping", "b: &b\n  k: 1\nr: &r\n  <<: *b\n  c: x\ns:\n  <<: *r\n",
     {"b": {"k": 1}, "r": {"k": 1, "c": "x"}, "s": {"k": 1, "c": "x"}}),
    ("quoted key", '"a b": 1\n', {"a b": 1}),
]

REFUSED = [
    ("block scalar", "a: |\n  x\n"),
    ("octal", "a: 0644\n"),
    ("sexagesimal", "a: 22:22\n"),
    ("date", "a: 2024-01-02\n"),
    ("unknown alias", "a: *nope\n"),
    ("duplicate key", "a: 1\na: 2\n"),
    ("bad indentation", "a:\n    b: 1\n  c: 2\n"),
    ("unterminated string", 'a: "x\n'),
    ("tab indentation", "a:\n\tb: 1\n"),
]


def load(text, parser):
    with tempfile.NamedTemporaryFile("w", suffix=".yaml", delete=False) as f:
        f.write(text)
    try:
        return yamlq.load(f.name, parser)
    finally:
        os.unlink(f.name)


class SubsetParserTest(unittest.TestCase):
    def test_cases(self):
        for name, text, want in CASES:
            with self.subTest(name):
                got = load(text, "subset")
                self.assertEqual(got, want, f"subset parser, {name}: got {got!r}, want {want!r}")
                if yamlq.HAVE_PYYAML:
                    got = load(text, "pyyaml")
                    self.assertEqual(got, want, f"PyYAML, {name}: got {got!r}, want {want!r}")

    def test_refused(self):
        for name, text in REFUSED:
            with self.subTest(name):
                with self.assertRaises(yamlq.YAMLSubsetError, msg=f"{name}: {text!r} was read"):
                    load(text, "subset")


class LookupTest(unittest.TestCase):
    def test_lookup(self):
        doc = {"services": {"a": {"ports": ["80:80", "443:443"]}}}
        for path, want in [("services.a.ports.1", "443:443"), ("services.a", {"ports": ["80:80", "443:443"]})]:
            with self.subTest(path):
                self.assertEqual(yamlq.lookup(doc, path), want)
        for path in ["services.b", "services.a.ports.2", "services.a.ports.x"]:
            with self.subTest(path):
                with self.assertRaises(KeyError):
                    yamlq.lookup(doc, path)

    def test_flatten(self):
        doc = {"s": {"a": {"env": {"K": "v", "B": False}, "ports": ["1:1", None]}}}
        got = dict(yamlq.flatten(doc))
        want = {
            "": ["s"], "s": ["a"], "s.a": ["env", "ports"],
            "s.a.env": ["K", "B"], "s.a.env.K": ["v"], "s.a.env.B": ["false"],
            "s.a.ports": ["1:1", ""], "s.a.ports.0": ["1:1"], "s.a.ports.1": [],
        }
        self.assertEqual(got, want)


if __name__ == "__main__":
    unittest.main(verbosity=0)
