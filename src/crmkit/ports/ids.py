"""The id generator port: where new ids come from."""

from __future__ import annotations

from typing import Protocol


class IdGenerator(Protocol):
    def new_id(self) -> str:
        """A new unique id; ids of one generator sort in creation order."""
        ...
