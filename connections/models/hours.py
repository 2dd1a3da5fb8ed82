"""When an inbox is staffed: weekly opening hours in the inbox's time zone, and holidays.

An inbox with no opening hours is always open. Hours whose closing time is not after the opening
time run overnight (22:00-06:00 closes the next morning). A holiday closes the hours that open on
that local date (an overnight stretch that opened the evening before still runs to its close).
The arithmetic is in `connections/business_hours.py`.
"""

from django.db import models

from connections.models.inboxes import ConnectedInbox
from tenants.models import TenantScopedQuerySet


class Weekday(models.IntegerChoices):
    MONDAY = 0, "Monday"
    TUESDAY = 1, "Tuesday"
    WEDNESDAY = 2, "Wednesday"
    THURSDAY = 3, "Thursday"
    FRIDAY = 4, "Friday"
    SATURDAY = 5, "Saturday"
    SUNDAY = 6, "Sunday"


class OpeningHours(models.Model):
    tenant_lookup = "inbox__connection__tenant"

    inbox = models.ForeignKey(ConnectedInbox, on_delete=models.CASCADE, related_name="opening_hours")
    weekday = models.PositiveSmallIntegerField(
        choices=Weekday.choices, help_text="The local day the stretch opens on."
    )
    opens_at = models.TimeField(help_text="Local time, in the inbox's time zone.")
    closes_at = models.TimeField(
        help_text="Local time. At or before the opening time: the stretch runs overnight and closes "
        "the next day (22:00 to 06:00). 00:00 closes at midnight."
    )

    objects = TenantScopedQuerySet.as_manager()

    class Meta:
        verbose_name = "opening hours"
        verbose_name_plural = "opening hours"
        ordering = ("inbox", "weekday", "opens_at")

    def __str__(self) -> str:
        return f"{self.get_weekday_display()} {self.opens_at:%H:%M}-{self.closes_at:%H:%M}"


class Holiday(models.Model):
    tenant_lookup = "inbox__connection__tenant"

    inbox = models.ForeignKey(ConnectedInbox, on_delete=models.CASCADE, related_name="holidays")
    date = models.DateField(help_text="Local date on which the inbox stays closed all day.")
    name = models.CharField(max_length=100, blank=True, help_text="For people, e.g. Christmas Day.")

    objects = TenantScopedQuerySet.as_manager()

    class Meta:
        ordering = ("inbox", "date")
        constraints = [models.UniqueConstraint(fields=("inbox", "date"), name="holiday_unique_date")]

    def __str__(self) -> str:
        return f"{self.date:%Y-%m-%d} {self.name}".strip()
