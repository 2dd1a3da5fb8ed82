"""What `make bench` needs from the server, and nothing when HITL_BENCH is off (the default).

* `baseline`: a view that does nothing and answers 204, so a benchmark can tell the cost of the
  server, middleware and network (the same for every request) from the cost of our own code.
* `QueryCountMiddleware`: counts the SQL statements a request ran, through
  `connection.execute_wrapper` (docs: topics/db/instrumentation), and reports them in the
  `X-Bench-Queries` response header. Outermost, so session and auth queries count too.

Both are mounted only when `HITL_BENCH` is on (hitl_portal/settings/base.py, hitl_portal/urls.py).
"""

from __future__ import annotations

from django.db import connections
from django.http import HttpResponse
from django.views.decorators.csrf import csrf_exempt

QUERY_COUNT_HEADER = "X-Bench-Queries"


@csrf_exempt  # answers POSTs too, so it can stand beside the webhook endpoints
def baseline(request):
    return HttpResponse(status=204)


class QueryCountMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        count = 0

        def counter(execute, sql, params, many, context):
            nonlocal count
            count += 1
            return execute(sql, params, many, context)

        with _wrapped(counter):
            response = self.get_response(request)
        response[QUERY_COUNT_HEADER] = str(count)
        return response


class _wrapped:
    """`execute_wrapper` on every configured database at once."""

    def __init__(self, wrapper):
        self.contexts = [connections[alias].execute_wrapper(wrapper) for alias in connections]

    def __enter__(self):
        for context in self.contexts:
            context.__enter__()

    def __exit__(self, *exc):
        for context in reversed(self.contexts):
            context.__exit__(*exc)
