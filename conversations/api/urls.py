"""Bot API URLs, mounted at /api/v1/ (names in the `bot-api` namespace)."""

from rest_framework.routers import SimpleRouter

from conversations.api.views import EscalationViewSet

app_name = "bot-api"

router = SimpleRouter()
router.register("escalations", EscalationViewSet, basename="escalation")

urlpatterns = router.urls
