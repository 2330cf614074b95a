"""A catalogue of named entries (actions, post-processing kinds), shared by both catalogues.

Duplicate names are refused when the catalogue is built, at import; an unknown name is answered
with the known ones, the same way for the spec model, the API and the DAG builder.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from typing import Protocol, TypeVar


class NamedEntry(Protocol):
    """What a catalogue holds: anything with a unique ``name``."""

    @property
    def name(self) -> str: ...


EntryT = TypeVar("EntryT", bound=NamedEntry)


class Catalogue(Mapping[str, EntryT]):
    """Entries of one kind keyed by name, in declaration order."""

    def __init__(self, kind: str, entries: Iterable[EntryT]) -> None:
        self.kind = kind
        self._entries: dict[str, EntryT] = {}
        for entry in entries:
            if entry.name in self._entries:
                title = f"{kind[0].upper()}{kind[1:]}"
                raise ValueError(f"{title} type {entry.name!r} is defined twice in the catalogue")
            self._entries[entry.name] = entry

    def __getitem__(self, name: str) -> EntryT:
        return self._entries[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._entries)

    def __len__(self) -> int:
        return len(self._entries)

    def unknown_message(self, name: str) -> str:
        """Say that ``name`` is not in the catalogue, listing what is."""
        return f"unknown {self.kind} type {name!r}; known types: {', '.join(sorted(self._entries))}"

    def require(self, name: str) -> EntryT:
        """Return the entry called ``name``; the KeyError lists the known names."""
        try:
            return self._entries[name]
        except KeyError:
            message = self.unknown_message(name)
            raise KeyError(f"{message[0].upper()}{message[1:]}") from None
