"""HubSpot's list envelope and a helper that walks every page of it.

Lists answer `{"total": n, "results": [...], "paging": {"next": {"after": "<cursor>"}}}`; the next
page is the same request plus `after=<cursor>`, and the last page has no `paging.next` (contract
§0.5, §3.1).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from connections.hubspot.errors import HubSpotServerError

#: A guard against a server that keeps handing out cursors: more pages than this is a bug.
MAX_PAGES = 1000


@dataclass(frozen=True)
class Page:
    results: list[dict[str, Any]]
    total: int | None
    #: Cursor of the next page, None on the last one.
    after: str | None

    @classmethod
    def from_body(cls, body: Any, operation: str = "") -> Page:
        if not isinstance(body, dict) or not isinstance(body.get("results"), list):
            raise HubSpotServerError("HubSpot list answer without a results array", operation=operation)
        following = ((body.get("paging") or {}).get("next") or {}).get("after")
        total = body.get("total")
        return cls(
            results=body["results"],
            total=int(total) if isinstance(total, int | str) and str(total).isdigit() else None,
            after=str(following) if following not in (None, "") else None,
        )

    def __iter__(self) -> Iterator[dict[str, Any]]:
        return iter(self.results)

    def __len__(self) -> int:
        return len(self.results)


def iterate(fetch: Callable[[str | None], Page], *, max_pages: int = MAX_PAGES) -> Iterator[dict[str, Any]]:
    """Every item of every page: `fetch(after)` gets one page, starting with `after=None`."""
    after: str | None = None
    seen: set[str] = set()
    for _ in range(max_pages):
        page = fetch(after)
        yield from page.results
        if page.after is None:
            return
        if page.after in seen:
            raise HubSpotServerError(f"HubSpot repeated the paging cursor {page.after!r}")
        seen.add(page.after)
        after = page.after
    raise HubSpotServerError(f"HubSpot list did not end within {max_pages} pages")
