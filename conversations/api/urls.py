"""Bot API URLs, mounted at /api/v1/."""

urlpatterns: list = []
