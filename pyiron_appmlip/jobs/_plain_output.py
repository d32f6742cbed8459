"""Job output that reads back as it was written (:class:`PlainOutput`)."""

from __future__ import annotations

import json

import numpy as np

from ._plain import as_text as _as_text

__all__ = ["OUTPUT_LAYOUT_NODE", "output_value", "PlainOutput"]

#: Node beside a job's storage that records what HDF5 does not keep of its output: which
#: entries are booleans and the key order of the dicts.
OUTPUT_LAYOUT_NODE = "output_layout"


def output_value(value):
    """An output value in the form a job hands it out, before and after ``pr.load()``: text as
    ``str`` (an array of bytes becomes a list of ``str``, nested for 2-d arrays), NumPy scalars
    as Python numbers, tuples as lists, dicts entry by entry; numeric arrays as they are."""
    if isinstance(value, dict):
        return {k: output_value(v) for k, v in value.items()}
    if isinstance(value, np.ndarray) and value.dtype.kind == "S":
        return _decode_nested(value.tolist())
    if isinstance(value, bytes | np.bytes_):
        return _as_text(value)
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, list | tuple):
        return [output_value(v) for v in value]
    return value


def _decode_nested(values):
    if isinstance(values, list):
        return [_decode_nested(v) for v in values]
    return _as_text(values)


def _text_array(values: list):
    """A non-empty (nested, rectangular) list of ``str`` as an array of UTF-8 bytes, else None.

    HDF5 stores such an array as one dataset; pyiron stores a list of strings element by
    element, which takes minutes for 10^5 configuration ids.
    """
    if not values:
        return None
    try:
        array = np.array(values)
    except ValueError:  # ragged
        return None
    if array.dtype.kind != "U" or array.ndim == 0 or array.tolist() != values:
        return None  # not all text, or text that NumPy would change (trailing NUL)
    flat = [s.encode("utf-8", "surrogateescape") for s in array.ravel().tolist()]
    return np.array(flat, dtype=bytes).reshape(array.shape)


def _stored_value(value):
    """``value`` (in :func:`output_value` form) as written to HDF5: text lists as byte arrays."""
    if isinstance(value, dict):
        return {k: _stored_value(v) for k, v in value.items()}
    if isinstance(value, list):
        text = _text_array(value)
        if text is not None:
            return text
    return value


def _layout(value):
    """What HDF5 does not keep of ``value``: ``"bool"`` for a boolean, the key order (and the
    inner layouts) of a dict, the layouts of the items of a list that hold any; else None."""
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, dict):
        return {"keys": [[str(k), _layout(v)] for k, v in value.items()]}
    if isinstance(value, list):
        items = []
        for index, item in enumerate(value):
            if isinstance(item, bool | dict | list):
                inner = _layout(item)
                if inner is not None:
                    items.append([index, inner])
        return {"items": items} if items else None
    return None


def _restore(value, layout):
    """``value`` as read from HDF5, with what :func:`_layout` recorded put back."""
    if layout == "bool":
        return bool(value) if isinstance(value, int | float) else value
    if not isinstance(layout, dict):
        return value
    if isinstance(value, dict) and "keys" in layout:
        inner = {name: node for name, node in layout["keys"]}
        by_name = {str(k): k for k in value}
        if set(by_name) == set(inner):
            keys = [by_name[name] for name in inner]
        else:  # not the recorded dict: keep what was read
            keys = list(value)
        return {k: _restore(value[k], inner.get(str(k))) for k in keys}
    if isinstance(value, list) and "items" in layout:
        value = list(value)
        for index, node in layout["items"]:
            if 0 <= index < len(value):
                value[index] = _restore(value[index], node)
    return value


class PlainOutput:
    """Mixin for every job of the package: ``job.output`` holds the same values, of the same
    types, in the same order, in the job that ran and in the job ``pr.load()`` returns.

    HDF5 through pyiron returns text arrays as bytes, Python booleans as integers, and sorts the
    keys of dicts. Here every output entry is kept in :func:`output_value` form (text as
    ``str``, lists of text as lists of ``str``), written with text lists as byte arrays (one
    dataset each, fast for many configurations), and the booleans and dict key orders are
    recorded beside it (:data:`OUTPUT_LAYOUT_NODE`) and restored when the job is loaded. Jobs
    written before that record existed come back with text as ``str`` and dicts in stored order.
    """

    def to_hdf(self, hdf=None, group_name=None):
        """Write the job (see pyiron's ``to_hdf``) with its output in the form described above."""
        output = self.output
        layout = {}
        written = {}
        for key in list(output.keys()):
            value = output_value(output[key])
            output[key] = value
            node = _layout(value)
            if node is not None:
                layout[key] = node
            stored = _stored_value(value)
            if stored is not value:
                written[key] = value
                output[key] = stored
        try:
            super().to_hdf(hdf=hdf, group_name=group_name)
        finally:
            for key, value in written.items():
                output[key] = value
        self.project_hdf5[OUTPUT_LAYOUT_NODE] = json.dumps({"entries": layout})

    def from_hdf(self, hdf=None, group_name=None):
        """Read the job (see pyiron's ``from_hdf``) with its output as it was written."""
        super().from_hdf(hdf=hdf, group_name=group_name)
        layout = {}
        if OUTPUT_LAYOUT_NODE in self.project_hdf5.list_nodes():
            try:
                layout = json.loads(self.project_hdf5[OUTPUT_LAYOUT_NODE])["entries"]
            except (TypeError, ValueError, KeyError):
                layout = {}
        output = self.output
        for key in list(output.keys()):
            output[key] = _restore(output_value(output[key]), layout.get(key))
