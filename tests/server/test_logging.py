import logging

from server.logging import RedactQueryStrings


def test_logging_redacts_query_strings_from_transport_lines() -> None:
    record = logging.LogRecord(
        "uvicorn.error",
        logging.INFO,
        __file__,
        1,
        '%s - "WebSocket %s" [accepted]',
        ("127.0.0.1:5000", "/sync/projects/p/flows/f?token=secret-jwt&ext=ack"),
        None,
    )
    RedactQueryStrings().filter(record)
    line = record.getMessage()
    assert "secret-jwt" not in line
    assert "/sync/projects/p/flows/f?[redacted]" in line


def test_logging_redacts_query_strings_in_plain_messages() -> None:
    record = logging.LogRecord(
        "uvicorn.access", logging.INFO, __file__, 1, "GET /x?token=abc 200", None, None
    )
    RedactQueryStrings().filter(record)
    assert "abc" not in record.getMessage()
