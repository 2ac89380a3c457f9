#!/usr/bin/env python3
"""yamlq: answer shell scripts' questions about the YAML files of deploy/.

Usage:
  yamlq.py FILE get PATH      print a value: a scalar as it is (true/false for
                              booleans, nothing for null), a mapping's keys or
                              a list's items one per line; exit 1 if absent
  yamlq.py FILE env SERVICE   print services.SERVICE.environment as KEY=VALUE
                              lines (mapping or list form); exit 1 if a value
                              is a boolean, which Compose refuses
  yamlq.py FILE json          print the whole document as JSON
  yamlq.py FILE flat          print every node as PATH, \x1e, then what `get
                              PATH` prints with newlines as \x1f: one line
                              each, for scripts that look up many paths
  yamlq.py FILE selftest      parse with both parsers below and compare

PATH is dot-separated: services.authserve-1.environment.AUTH_ADDR; a list
index is a number: services.proxy.ports.0.

PyYAML is used when it is installed. Otherwise a small parser of the block
YAML subset these files are written in (mappings, lists, flow lists of
scalars, quoted and plain scalars, anchors, aliases and << merge keys) is
used instead; anything outside that subset is refused with its line number
rather than misread. `selftest` parses with both when PyYAML is there, so
the fallback cannot silently drift from the real thing.
"""

import json
import re
import sys

try:
    import yaml  # type: ignore

    HAVE_PYYAML = True
except ImportError:  # the fallback below is the whole point
    HAVE_PYYAML = False


class YAMLSubsetError(Exception):
    """The file uses YAML this parser does not read."""


_NULLS = {"", "~", "null", "Null", "NULL"}
_TRUES = {"true", "True", "TRUE", "yes", "Yes", "YES", "on", "On", "ON"}
_FALSES = {"false", "False", "FALSE", "no", "No", "NO", "off", "Off", "OFF"}
_INT = re.compile(r"[-+]?(0|[1-9][0-9_]*)$")
_FLOAT = re.compile(r"[-+]?([0-9][0-9_]*)?\.[0-9_]*([eE][-+][0-9]+)?$")
# Plain scalars that YAML 1.1 (PyYAML) would read as something this parser
# does not model: octal, hex, sexagesimal (22:22 is 1342), dates. Refused, so that
# the file quotes them and both parsers agree.
_AMBIGUOUS = re.compile(
    r"[-+]?0[0-7]+$|[-+]?0x[0-9a-fA-F_]+$|[-+]?[0-9][0-9_]*(:[0-5]?[0-9])+(\.[0-9_]*)?$|"
    r"[0-9]{4}-[0-9]{1,2}-[0-9]{1,2}([Tt ].*)?$"
)


def _plain(text, lineno):
    if text in _NULLS:
        return None
    if text in _TRUES:
        return True
    if text in _FALSES:
        return False
    if _INT.match(text):
        return int(text.replace("_", ""))
    if _FLOAT.match(text) and any(c.isdigit() for c in text):
        return float(text.replace("_", ""))
    if _AMBIGUOUS.match(text):
        raise YAMLSubsetError(f"line {lineno}: quote {text!r}: YAML 1.1 reads it as a number or date")
    if text[0] in "&*!|>%@`{":
        raise YAMLSubsetError(f"line {lineno}: unsupported YAML {text!r}")
    return text


def _quoted(text, lineno):
    """Parses a quoted scalar at the start of text; returns (value, rest)."""
    q = text[0]
    out = []
    i = 1
    while i < len(text):
        c = text[i]
        if q == "'" and c == "'":
            if text[i + 1 : i + 2] == "'":
                out.append("'")
                i += 2
                continue
            return "".join(out), text[i + 1 :]
        if q == '"' and c == "\\":
            esc = text[i + 1 : i + 2]
            table = {'"': '"', "\\": "\\", "/": "/", "n": "\n", "t": "\t", "r": "\r", "0": "\0", " ": " "}
            if esc not in table:
                raise YAMLSubsetError(f"line {lineno}: unsupported escape \\{esc}")
            out.append(table[esc])
            i += 2
            continue
        if q == '"' and c == '"':
            return "".join(out), text[i + 1 :]
        out.append(c)
        i += 1
    raise YAMLSubsetError(f"line {lineno}: unterminated {q}-quoted string (multi-line strings are not supported)")


def _strip_comment(text):
    """Removes a # comment that is outside quotes and after a blank."""
    q = None
    for i, c in enumerate(text):
        if q:
            if c == q:
                q = None
        elif c in "'\"" and (i == 0 or text[i - 1] in " [,:"):
            q = c
        elif c == "#" and (i == 0 or text[i - 1] in " \t"):
            return text[:i].rstrip()
    return text.rstrip()


def _split_key(text):
    """Splits 'key: rest' into (key, rest); returns None if text is no entry."""
    if text[0] in "'\"":
        key, rest = _quoted(text, 0)
        if rest.startswith(":") and (len(rest) == 1 or rest[1] == " "):
            return key, rest[1:].strip()
        return None
    m = re.match(r"([^\s:#'\"\[\]{},][^:#]*?|<<)\s*:(\s+|$)", text)
    if not m:
        return None
    return m.group(1), text[m.end() :].strip()


class _Parser:
    def __init__(self, source):
        self.lines = []
        for n, raw in enumerate(source.splitlines(), 1):
            if "\t" in raw[: len(raw) - len(raw.lstrip())]:
                raise YAMLSubsetError(f"line {n}: tab in indentation")
            text = _strip_comment(raw)
            if not text.strip() or text.strip() in ("---", "..."):
                continue
            self.lines.append([len(text) - len(text.lstrip(" ")), text.strip(), n])
        self.anchors = {}

    def parse(self):
        if not self.lines:
            return None
        value, i = self.node(0, self.lines[0][0])
        if i != len(self.lines):
            raise YAMLSubsetError(f"line {self.lines[i][2]}: unexpected indentation")
        return value

    def node(self, i, indent):
        text = self.lines[i][1]
        if text == "-" or text.startswith("- "):
            return self.sequence(i, indent)
        return self.mapping(i, indent)

    def child(self, i, indent, lineno):
        """The block value that follows a 'key:' or '-' line at indent."""
        if i < len(self.lines):
            ind, text, _ = self.lines[i]
            if ind > indent:
                return self.node(i, ind)
            if ind == indent and (text == "-" or text.startswith("- ")):
                return self.sequence(i, ind)
        return None, i

    def anchored(self, text, lineno):
        """Splits a leading &anchor off text: returns (name or None, rest)."""
        if text.startswith("&"):
            m = re.match(r"&([^\s\[\]{},]+)\s*", text)
            return m.group(1), text[m.end() :]
        return None, text

    def inline(self, text, lineno):
        """An inline value: alias, flow list, quoted or plain scalar."""
        if text.startswith("*"):
            name = text[1:]
            if name not in self.anchors:
                raise YAMLSubsetError(f"line {lineno}: unknown alias *{name}")
            return self.anchors[name]
        if text.startswith("["):
            return self.flow_list(text, lineno)
        if text == "{}":
            return {}
        if text[0] in "'\"":
            value, rest = _quoted(text, lineno)
            if rest.strip():
                raise YAMLSubsetError(f"line {lineno}: text after a quoted string: {rest.strip()!r}")
            return value
        return _plain(text, lineno)

    def flow_list(self, text, lineno):
        if not text.endswith("]"):
            raise YAMLSubsetError(f"line {lineno}: flow lists must close on their line")
        body = text[1:-1].strip()
        items = []
        while body:
            if body[0] in "'\"":
                value, body = _quoted(body, lineno)
            else:
                m = re.match(r"([^,\[\]{}]*)", body)
                item = m.group(1).strip()
                value = _plain(item, lineno)
                body = body[m.end() :]
            items.append(value)
            body = body.strip()
            if body.startswith(","):
                body = body[1:].strip()
            elif body:
                raise YAMLSubsetError(f"line {lineno}: unsupported flow list item near {body!r}")
        return items

    def value_after(self, rest, i, indent, lineno):
        """The value of an entry whose inline text is rest (maybe empty)."""
        anchor, rest = self.anchored(rest, lineno)
        if rest:
            value = self.inline(rest, lineno)
        else:
            value, i = self.child(i, indent, lineno)
        if anchor:
            self.anchors[anchor] = value
        return value, i

    def mapping(self, i, indent):
        explicit, merged = {}, {}
        while i < len(self.lines) and self.lines[i][0] == indent:
            _, text, lineno = self.lines[i]
            if text == "-" or text.startswith("- "):
                break
            entry = _split_key(text)
            if entry is None:
                raise YAMLSubsetError(f"line {lineno}: expected 'key: value', got {text!r}")
            key, rest = entry
            value, i = self.value_after(rest, i + 1, indent, lineno)
            if key == "<<":
                for m in value if isinstance(value, list) else [value]:
                    if not isinstance(m, dict):
                        raise YAMLSubsetError(f"line {lineno}: << needs a mapping")
                    for k, v in m.items():
                        merged.setdefault(k, v)
                continue
            if key in explicit:
                raise YAMLSubsetError(f"line {lineno}: duplicate key {key!r}")
            explicit[key] = value
        if i < len(self.lines) and self.lines[i][0] > indent:
            raise YAMLSubsetError(f"line {self.lines[i][2]}: unexpected indentation")
        return {**merged, **explicit}, i

    def sequence(self, i, indent):
        items = []
        while i < len(self.lines) and self.lines[i][0] == indent:
            _, text, lineno = self.lines[i]
            if not (text == "-" or text.startswith("- ")):
                break
            content = text[1:].lstrip()
            if not content:
                value, i = self.child(i + 1, indent, lineno)
            elif _split_key(content) is not None and not content.startswith(("*", "&")):
                # "- key: value": a mapping whose keys line up with this key.
                self.lines[i] = [indent + len(text) - len(content), content, lineno]
                value, i = self.mapping(i, self.lines[i][0])
            else:
                value, i = self.value_after(content, i + 1, indent, lineno)
            items.append(value)
        return items, i


def load(path, parser="auto"):
    """Loads the YAML document at path with PyYAML or the subset parser."""
    with open(path, encoding="utf-8") as f:
        source = f.read()
    if parser == "pyyaml" or (parser == "auto" and HAVE_PYYAML):
        return yaml.safe_load(source)
    return _Parser(source).parse()


def lookup(doc, path):
    node = doc
    for part in path.split(".") if path else []:
        if isinstance(node, dict) and part in node:
            node = node[part]
        elif isinstance(node, list) and part.isdigit() and int(part) < len(node):
            node = node[int(part)]
        else:
            raise KeyError(path)
    return node


def scalar(v):
    if v is None:
        return ""
    if isinstance(v, bool):
        return "true" if v else "false"
    return str(v)


def render(v):
    """The lines `get` prints for the value v."""
    if isinstance(v, dict):
        return [str(k) for k in v]
    if isinstance(v, list):
        return [json.dumps(x) if isinstance(x, (dict, list)) else scalar(x) for x in v]
    return [] if v is None else [scalar(v)]


def flatten(v, path=""):
    """Yields (path, rendered lines) for v and every node below it."""
    yield path, render(v)
    items = v.items() if isinstance(v, dict) else enumerate(v) if isinstance(v, list) else []
    for k, child in items:
        yield from flatten(child, f"{path}.{k}" if path else str(k))


def main(argv):
    if len(argv) < 3:
        print(__doc__.strip(), file=sys.stderr)
        return 2
    path, cmd, args = argv[1], argv[2], argv[3:]
    try:
        if cmd == "selftest":
            if not HAVE_PYYAML:
                print(f"{path}: PyYAML not installed; read with the subset parser only")
                load(path, "subset")
                return 0
            a, b = load(path, "pyyaml"), load(path, "subset")
            if a != b:
                print(f"{path}: the subset parser disagrees with PyYAML:\n{json.dumps(b, indent=1)}\n!=\n{json.dumps(a, indent=1)}")
                return 1
            print(f"{path}: the subset parser agrees with PyYAML")
            return 0
        doc = load(path)
    except (OSError, YAMLSubsetError) as e:
        print(f"{path}: {e}", file=sys.stderr)
        return 2
    except Exception as e:  # PyYAML's errors, without importing its types
        print(f"{path}: {e}", file=sys.stderr)
        return 2
    if cmd == "json":
        print(json.dumps(doc, indent=2))
        return 0
    if cmd == "get" and len(args) == 1:
        try:
            v = lookup(doc, args[0])
        except KeyError:
            return 1
        lines = render(v)
        if lines:
            print("\n".join(lines))
        return 0
    if cmd == "flat":
        for p, lines in flatten(doc):
            print(p + "\x1e" + "\x1f".join(lines))
        return 0
    if cmd == "env" and len(args) == 1:
        try:
            env = lookup(doc, f"services.{args[0]}.environment")
        except KeyError:
            return 0
        if isinstance(env, list):
            pairs = [(e.split("=", 1) + [""])[:2] for e in env]
        else:
            pairs = list(env.items())
        bad = [k for k, v in pairs if isinstance(v, bool)]
        if bad:
            print(f"{path}: services.{args[0]}.environment: quote the booleans of {', '.join(bad)}", file=sys.stderr)
            return 1
        for k, v in pairs:
            print(f"{k}={scalar(v)}")
        return 0
    print(__doc__.strip(), file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv))
