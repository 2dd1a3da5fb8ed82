"""The escalation changelist's machinery, sized for a million rows.

Django's changelist counts twice per page: the filtered set (`paginator.count`) and, with
`show_full_result_count`, the whole table. Over a million escalations each COUNT(*) reads every
matching row, on every page view and every filter click. So the admin turns the full count off and
paginates with a count capped at COUNT_CAP: `SELECT COUNT(*) FROM (… LIMIT 10001)` stops after
10,001 index entries, and the page says "more than 10,000" beyond that.

The live endpoint and the CSV export build the same ChangeList (filters, search, tenancy and
ordering identical to the page) but need no page of results: `rows_not_needed` skips the count
and the page query.
"""

from __future__ import annotations

import copy

from django.contrib.admin.views.main import ChangeList
from django.core.paginator import Paginator
from django.utils.functional import cached_property

from conversations.queue import queues_for_page

COUNT_CAP = 10_000
ROWS_NOT_NEEDED = "_escalation_rows_not_needed"


class CappedCountPaginator(Paginator):
    capped = False

    @cached_property
    def count(self) -> int:
        found = self.object_list.order_by()[: COUNT_CAP + 1].count()
        self.capped = found > COUNT_CAP
        return min(found, COUNT_CAP)


class EscalationChangeList(ChangeList):
    def get_results(self, request):
        if getattr(request, ROWS_NOT_NEEDED, False):
            self.result_count = 0
            self.full_result_count = None
            self.show_full_result_count = False
            self.result_list = []
            self.can_show_all = False
            self.multi_page = False
            self.paginator = None
            return
        super().get_results(request)
        # The queue column's figures for the page's waiting rows, computed together.
        queues = queues_for_page(self.result_list)
        for esc in self.result_list:
            esc.page_queue = queues.get(esc.pk)
        # Unfiltered, the page's count is the full count (unless capped): the theme's header then
        # offers no "Show all" for a list that shows all already.
        unfiltered = not self.has_active_filters and not self.query
        if unfiltered and not getattr(self.paginator, "capped", False):
            self.full_result_count = self.result_count


def filtered_queryset(model_admin, request, *, drop: tuple[str, ...] = ()):
    """The changelist's queryset for this request's filters and search, without running it.

    `drop` names query parameters of the caller (the live cursor) that are not filters.
    """
    clone = _without_params(request, drop)
    setattr(clone, ROWS_NOT_NEEDED, True)
    return model_admin.get_changelist_instance(clone)


def _without_params(request, names):
    clone = copy.copy(request)
    query = request.GET.copy()
    for name in names:
        query.pop(name, None)
    clone.GET = query
    return clone
