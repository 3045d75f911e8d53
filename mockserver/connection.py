"""What the app and the HTTP server that runs it agree on about a connection (a leaf, so that the
app does not import the server): the environ key saying whether the client left, and the exception
that closes the connection unanswered."""

# environ key of a callable: whether the client left (asked, from a worker thread, while a delay holds
# a request). A client that only half-closed (it still reads) has not left; the answer may take the
# server a few ms to find (it looks at what the kernel already has)
CLIENT_GONE = "mockserver.client_gone"
# environ key set on a request the server answers on its event loop (not on a worker thread): it
# must not wait, so a delay that was not foreseen when it was dispatched is not applied
INLINE = "mockserver.inline"
# environ key of the request's body as bytes, where the server has them at hand (`wsgi.input` holds
# the same bytes): the pipeline reads them without werkzeug's stream wrappers
RAW_BODY = "mockserver.body"


class DropConnection(Exception):  # noqa: N818 (a signal, not an error)
    """Raised by the app: the server closes the connection without writing a byte."""
