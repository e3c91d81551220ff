"""What a script export returns: its text, and what it could not express."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class ScriptExport:
    text: str
    warnings: tuple[str, ...]  # also written as comments at the top of `text`

    def encode(self) -> bytes:
        return self.text.encode("utf-8")


class Warnings:
    """Collects warnings with the flow and node they are about."""

    def __init__(self) -> None:
        self.found: list[str] = []
        self.where = ""

    def __call__(self, message: str) -> None:
        self.found.append(f"{self.where}: {message}" if self.where else message)
