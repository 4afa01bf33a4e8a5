"""heron.protocol: HTTP/1.1 as pure functions of bytes (sans-IO).

Nothing in this package touches a socket, a clock, a thread or the OS: the
parser is fed bytes and hands back events, the writer turns a response into
bytes. That is what lets the test suite drive it byte by byte, fuzz it, and
compare it with a reference parser.
"""

from heron.protocol.events import NEED_DATA, Data, EndOfMessage, RequestHead
from heron.protocol.parser import RequestParser
from heron.protocol.writer import HeaderError, ResponseWriter, format_http_date

__all__ = [
    "NEED_DATA",
    "Data",
    "EndOfMessage",
    "HeaderError",
    "RequestHead",
    "RequestParser",
    "ResponseWriter",
    "format_http_date",
]
