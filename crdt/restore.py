"""Restoring a version as forward operations on the live document.

A restore never replaces the Doc: it edits the live roots until they read like the version's.
Everything is an ordinary Yjs operation (deletes of what the version lacks, inserts of what it
has), so a client holding newer state merges it like any edit: what the restore deleted stays
deleted, and nothing comes back twice. Texts and sequences change only between their common
prefix and suffix, so concurrent edits outside the restored region survive.
"""

from __future__ import annotations

from typing import Any

from pycrdt import Array, Doc, Map, Text, XmlElement, XmlFragment, XmlText

from crdt.schema import RootShape, Schema

Shared = Map[Any] | Array[Any] | Text | XmlFragment | XmlElement | XmlText


def restore(live: Doc[Any], version: Doc[Any], schema: Schema) -> None:
    """Make `live` read like `version`, root by root, inside one transaction of the caller."""
    for name, shape in schema.roots.items():
        if shape is RootShape.MAP:
            _map(live.get(name, type=Map), version.get(name, type=Map))
        else:
            _array(live.get(name, type=Array), version.get(name, type=Array))


def _map(live: Map[Any], target: Map[Any]) -> None:
    for key in [k for k in live.keys() if k not in target]:  # noqa: SIM118 - Map.__iter__ is loosely typed
        del live[key]
    for key, value in target.items():
        current = live.get(key)
        if _is_shared(value):
            if type(current) is type(value):
                _reconcile(current, value)
            else:
                live[key] = _copy(value)
        elif current != value or _is_shared(current):
            live[key] = value


def _reconcile(live: Any, target: Any) -> None:
    if isinstance(target, Map):
        _map(live, target)
    elif isinstance(target, Array):
        _array(live, target)
    elif isinstance(target, Text | XmlText):
        _text(live, target)
    elif isinstance(target, XmlElement):
        if live.tag != target.tag:  # pragma: no cover - tags are fixed at creation
            return
        wanted = _attributes(target)
        for key in [k for k in _attributes(live) if k not in wanted]:
            del live.attributes[key]
        for key, value in wanted.items():
            if live.attributes.get(key) != value:
                live.attributes[key] = value
        _children(live.children, target.children)
    elif isinstance(target, XmlFragment):
        _children(live.children, target.children)


def _text(live: Text | XmlText, target: Text | XmlText) -> None:
    old, new = str(live), str(target)
    if old == new:
        return
    start = _common_prefix(old, new)
    end = _common_suffix(old[start:], new[start:])
    if len(old) - end > start:
        del live[start : len(old) - end]
    middle = new[start : len(new) - end]
    if middle:
        live.insert(start, middle)


def _array(live: Array[Any], target: Array[Any]) -> None:
    _sequence(live, list(target))


def _children(live: Any, target: Any) -> None:
    _sequence(live, list(target))


def _sequence(live: Any, target: list[Any]) -> None:
    current = list(live)
    old_keys = [_identity(v) for v in current]
    new_keys = [_identity(v) for v in target]
    if old_keys == new_keys:
        for cur, tgt in zip(current, target, strict=True):
            if _is_shared(tgt) and type(cur) is type(tgt):
                _reconcile(cur, tgt)
        return
    start = _common_prefix(old_keys, new_keys)
    end = _common_suffix(old_keys[start:], new_keys[start:])
    removed = len(current) - end - start
    if removed > 0:
        del live[start : start + removed]
    for offset, value in enumerate(target[start : len(target) - end]):
        live.insert(start + offset, _copy(value) if _is_shared(value) else value)


def _identity(value: Any) -> Any:
    # Shared values compare by content: equal content needs no rewrite.
    return (type(value).__name__, repr(_plain(value)))


def _plain(value: Any) -> Any:
    """Content as plain Python, XML as its markup (pycrdt's to_py refuses XmlFragment)."""
    if isinstance(value, Map):
        return {k: _plain(v) for k, v in sorted(value.items())}
    if isinstance(value, Array):
        return [_plain(v) for v in value]
    if isinstance(value, Text | XmlText | XmlFragment | XmlElement):
        return str(value)
    return value


def _copy(value: Any) -> Any:
    """A fresh, unintegrated copy of a shared value, ready to insert elsewhere."""
    if isinstance(value, Map):
        return Map({k: _copy(v) for k, v in value.items()})
    if isinstance(value, Array):
        return Array([_copy(v) for v in value])
    if isinstance(value, Text):
        return Text(str(value))
    if isinstance(value, XmlText):
        return XmlText(str(value))
    if isinstance(value, XmlElement):
        return XmlElement(value.tag, _attributes(value), [_copy(c) for c in value.children])
    if isinstance(value, XmlFragment):
        return XmlFragment([_copy(c) for c in value.children])
    return value


def _attributes(element: XmlElement) -> dict[str, Any]:
    # pycrdt's attribute view iterates (key, value) pairs but declares an Iterable __iter__.
    view: Any = element.attributes
    return dict(view)


def _is_shared(value: Any) -> bool:
    return isinstance(value, Map | Array | Text | XmlFragment | XmlElement | XmlText)


def _common_prefix(a: Any, b: Any) -> int:
    n = min(len(a), len(b))
    i = 0
    while i < n and a[i] == b[i]:
        i += 1
    return i


def _common_suffix(a: Any, b: Any) -> int:
    n = min(len(a), len(b))
    i = 0
    while i < n and a[len(a) - 1 - i] == b[len(b) - 1 - i]:
        i += 1
    return i
