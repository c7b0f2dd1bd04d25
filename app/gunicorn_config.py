"""gunicorn settings for the `web` process, read from the environment like every other setting.

Threads, not gevent: a request borrows a pooled PostgreSQL connection and its thread's broker
channel, which a green thread per request would multiply.
"""

from models.config import Settings

settings = Settings.from_env()

bind = f"0.0.0.0:{settings.port}"
worker_class = "gthread"
workers = settings.web_processes
threads = settings.web_threads
#: Seconds a worker gets to finish its requests after SIGTERM before it is killed.
graceful_timeout = 30
#: Off by default; turn it on with `--access-logfile -`.
accesslog = None
#: No control socket (gunicorn 25+): its one path per user would be taken from each other by
#: two instances on a machine (the test suite's beside `stevora up`); Stevora needs no gunicornc.
control_socket_disable = True
#: Longest request line (method, path and query string), in bytes: gunicorn's default, stated
#: because the OpenAPI document names it. Longer lines are answered 414 by gunicorn itself.
limit_request_line = 4094
