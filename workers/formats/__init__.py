"""Text export formats (Ink, Yarn Spinner, localization CSV) and the pre-export validation report.

Pure: documents in (as `crdt.views` readings), str or bytes out, no I/O. `project.py` gathers a
project's documents into one `Project`; each format module reads only that.
"""
