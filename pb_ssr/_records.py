"""Records and list results as PocketBase returns them."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

__all__ = ["ListResult", "Record", "RecordAuthResponse", "RecordSubscription", "to_record"]


class Record(dict[str, Any]):
    """A PocketBase record: a ``dict`` of its JSON, with ``expand`` as nested records.

    Being a real ``dict`` keeps it JSON-serialisable and template friendly
    (``{{ message.text }}`` works in Django and Jinja)::

        msg = pb.collection("messages").get_one(id, expand="user")
        msg["text"], msg.id, msg.expand["user"]["name"]
        json.dumps(msg)  # the record as PocketBase sent it
    """

    __slots__ = ()

    def __init__(self, data: Mapping[str, Any] | None = None, /) -> None:
        if data:
            # dict.update, not super().__init__: the same copy without building a
            # super object (a list page makes a hundred Records).
            _dict_update(self, data)
            expand = self.get("expand")
            # type() first: an ABC isinstance check costs more than the copy itself.
            if expand and _is_mapping(expand):
                self["expand"] = {key: _expand_value(value) for key, value in expand.items()}

    @property
    def id(self) -> str:
        """The record id (``""`` when absent)."""
        value = self.get("id")
        return value if isinstance(value, str) else ""

    @property
    def collection_id(self) -> str:
        """The ``collectionId`` field (``""`` when absent)."""
        value = self.get("collectionId")
        return value if isinstance(value, str) else ""

    @property
    def collection_name(self) -> str:
        """The ``collectionName`` field (``""`` when absent)."""
        value = self.get("collectionName")
        return value if isinstance(value, str) else ""

    @property
    def expand(self) -> dict[str, Any]:
        """Expanded relations: a ``Record`` or a list of them per relation field."""
        value = self.get("expand")
        return value if isinstance(value, dict) else {}

    def __repr__(self) -> str:
        return f"Record({dict.__repr__(self)})"


_dict_update = dict.update
_new_record = Record.__new__


def _is_mapping(value: Any) -> bool:
    return type(value) is dict or isinstance(value, Mapping)


def _expand_value(value: Any) -> Any:
    if type(value) is dict:
        return _from_json_dict(value)
    if _is_mapping(value):
        return Record(value)
    if isinstance(value, list):
        return [
            _from_json_dict(v) if type(v) is dict else Record(v) if _is_mapping(v) else v
            for v in value
        ]
    return value


def _from_json_dict(data: dict[str, Any]) -> Record:
    """``Record(data)`` for a plain ``dict`` (what JSON decoding gives), built cheaply.

    The same record as the constructor makes, without running ``__init__``: a list
    page builds a hundred of these (its items and their expanded relations), and the
    Python-level constructor call was most of the cost. An expanded relation that is
    a plain ``dict`` without an ``expand`` of its own (the usual ``expand=user``) is
    copied inline.
    """
    record = _new_record(Record)
    _dict_update(record, data)
    if "expand" in data:
        expand = data["expand"]
        if type(expand) is dict:
            if expand:
                out: dict[str, Any] = {}
                for key, value in expand.items():
                    if type(value) is dict and "expand" not in value:
                        related = _new_record(Record)
                        _dict_update(related, value)
                        out[key] = related
                    else:
                        out[key] = _expand_value(value)
                record["expand"] = out
        elif expand and isinstance(expand, Mapping):
            record["expand"] = {key: _expand_value(value) for key, value in expand.items()}
    return record


def to_record(value: Any) -> Record:
    """Return *value* as a :class:`Record` (an empty one for non-mappings)."""
    if type(value) is Record:
        return value
    if type(value) is dict:
        return _from_json_dict(value)
    if isinstance(value, Record):
        return value
    return Record(value if isinstance(value, Mapping) else None)


@dataclass(slots=True)
class ListResult:
    """One page of records, as returned by ``get_list``.

    With ``skip_total=True`` PocketBase does not count: ``total_items`` and
    ``total_pages`` are ``-1``.
    """

    page: int
    per_page: int
    total_items: int
    total_pages: int
    items: list[Record] = field(default_factory=list)

    @classmethod
    def from_json(cls, data: Any) -> ListResult:
        """Build a result from PocketBase's list JSON."""
        data = data if isinstance(data, Mapping) else {}
        items = data.get("items")
        return cls(
            page=int(data.get("page") or 1),
            per_page=int(data.get("perPage") or 0),
            total_items=int(data.get("totalItems", 0)),
            total_pages=int(data.get("totalPages", 0)),
            items=[
                _from_json_dict(item) if type(item) is dict else to_record(item) for item in items
            ]
            if isinstance(items, list)
            else [],
        )


@dataclass(slots=True)
class RecordAuthResponse:
    """The answer of a successful authentication: token, record and extra ``meta``.

    ``meta`` holds the OAuth2 provider data (``isNew``, ``email``, ...) after
    ``auth_with_oauth2_code``. The token is hidden from ``repr()``.
    """

    token: str = field(repr=False)
    record: Record
    meta: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def from_json(cls, data: Any) -> RecordAuthResponse:
        """Build a response from PocketBase's auth JSON."""
        data = data if isinstance(data, Mapping) else {}
        token = data.get("token")
        meta = data.get("meta")
        return cls(
            token=token if isinstance(token, str) else "",
            record=to_record(data.get("record")),
            meta=dict(meta) if isinstance(meta, Mapping) else {},
        )


@dataclass(frozen=True, slots=True)
class RecordSubscription:
    """One realtime event: ``action`` is ``"create"``, ``"update"`` or ``"delete"``."""

    action: str
    record: Record
    #: The exact topic string the event was delivered for.
    topic: str = ""
