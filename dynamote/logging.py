"""One log line per event, tagged with the request id and user of the request in flight."""

import contextvars
import logging

request_id = contextvars.ContextVar("request_id", default="-")
request_user = contextvars.ContextVar("request_user", default="-")


class RequestContextFilter(logging.Filter):
    """Adds `request_id` and `user` to every record, from the request being served."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = request_id.get()
        record.user = request_user.get()
        return True
