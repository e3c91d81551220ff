"""The export format registry: a format's name (what `POST .../exports` takes) -> its writer.

A format writes one file (a ZIP, a script, a CSV) to a binary stream from an `ExportSource`
that hands out the project's documents one at a time. To add one, append its `ExportFormat`
to `_FORMATS` below; the exports endpoint accepts every name listed here.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import BinaryIO

from workers.archive import write_archive
from workers.export_source import ExportSource
from workers.formats.exports import write_ink, write_localization_csv, write_yarn

# Told the share of the work done so far, 0-100; the job's percent follows it.
Progress = Callable[[int], Awaitable[None]]
Writer = Callable[[ExportSource, BinaryIO, Progress], Awaitable[None]]


@dataclass(frozen=True, slots=True)
class ExportFormat:
    name: str
    extension: str  # of the download's filename, without the dot
    content_type: str
    write: Writer


STORYARN_ARCHIVE = ExportFormat("storyarn", "zip", "application/zip", write_archive)
_TEXT = "text/plain; charset=utf-8"

_FORMATS: tuple[ExportFormat, ...] = (
    STORYARN_ARCHIVE,
    ExportFormat("ink", "ink", _TEXT, write_ink),
    ExportFormat("yarn", "yarn", _TEXT, write_yarn),
    # One CSV per target locale (docs/export-formats.md), hence a ZIP.
    ExportFormat("localization-csv", "zip", "application/zip", write_localization_csv),
)
FORMATS: Mapping[str, ExportFormat] = {f.name: f for f in _FORMATS}
