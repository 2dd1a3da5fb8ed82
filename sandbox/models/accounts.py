"""Portals, apps, OAuth grants, inboxes, agents, CRM contacts and files."""

from django.db import models


class SandboxPortal(models.Model):
    """A HubSpot account ("hub"). `portal_id` is what HubSpot calls hub_id / portalId."""

    portal_id = models.PositiveBigIntegerField(unique=True)
    name = models.CharField(max_length=200)
    hub_domain = models.CharField(max_length=200)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ("portal_id",)

    def __str__(self) -> str:
        return f"{self.name} ({self.portal_id})"


class SandboxApp(models.Model):
    """A public app in a developer account: OAuth client, custom-channel owner, webhook sender."""

    app_id = models.PositiveBigIntegerField(unique=True)
    name = models.CharField(max_length=200)
    client_id = models.CharField(max_length=100, unique=True)
    client_secret = models.CharField(max_length=100)
    developer_api_key = models.CharField(max_length=100, unique=True)
    redirect_urls = models.JSONField(
        default=list,
        blank=True,
        help_text="Allowed OAuth redirect URLs; the consent page refuses any other (none registered: none).",
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ("app_id",)

    def __str__(self) -> str:
        return f"{self.name} (app {self.app_id})"


class SandboxAuthCode(models.Model):
    """A one-time authorization code issued by the consent page."""

    code = models.CharField(max_length=100, unique=True)
    app = models.ForeignKey(SandboxApp, on_delete=models.CASCADE)
    portal = models.ForeignKey(SandboxPortal, on_delete=models.CASCADE)
    scopes = models.JSONField(default=list)
    redirect_uri = models.URLField(max_length=500)
    user_email = models.EmailField()
    expires_at = models.DateTimeField()
    used_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"Authorization code for {self.app} on {self.portal}"


class SandboxToken(models.Model):
    class Kind(models.TextChoices):
        ACCESS = "access"
        REFRESH = "refresh"

    kind = models.CharField(max_length=10, choices=Kind.choices)
    token = models.CharField(max_length=200, unique=True)
    app = models.ForeignKey(SandboxApp, on_delete=models.CASCADE, related_name="tokens")
    portal = models.ForeignKey(SandboxPortal, on_delete=models.CASCADE, related_name="tokens")
    scopes = models.JSONField(default=list)
    user_email = models.EmailField()
    user_id = models.PositiveBigIntegerField(default=0)
    expires_at = models.DateTimeField(null=True, blank=True, help_text="Access tokens only.")
    revoked_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        indexes = [models.Index(fields=("app", "portal", "kind"))]

    def __str__(self) -> str:
        return f"{self.kind} token for {self.app} on {self.portal}"


class SandboxInbox(models.Model):
    class Type(models.TextChoices):
        INBOX = "INBOX"
        HELP_DESK = "HELP_DESK"

    portal = models.ForeignKey(SandboxPortal, on_delete=models.CASCADE, related_name="inboxes")
    inbox_id = models.PositiveBigIntegerField(unique=True)
    name = models.CharField(max_length=200)
    type = models.CharField(max_length=20, choices=Type.choices, default=Type.INBOX)
    archived = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name_plural = "sandbox inboxes"
        ordering = ("inbox_id",)

    def __str__(self) -> str:
        return f"{self.name} ({self.inbox_id})"


class SandboxActor(models.Model):
    """Conversations actors: agents (A-<userId>), visitors (V-<id>), integrations (I-<appId>)."""

    class Type(models.TextChoices):
        AGENT = "AGENT"
        VISITOR = "VISITOR"
        INTEGRATOR = "INTEGRATOR"
        SYSTEM = "SYSTEM"
        BOT = "BOT"

    portal = models.ForeignKey(SandboxPortal, on_delete=models.CASCADE, related_name="actors")
    actor_id = models.CharField(max_length=50)
    type = models.CharField(max_length=20, choices=Type.choices)
    name = models.CharField(max_length=200, blank=True)
    email = models.EmailField(blank=True)

    class Meta:
        ordering = ("actor_id",)
        constraints = [models.UniqueConstraint(fields=("portal", "actor_id"), name="sandboxactor_unique")]

    def __str__(self) -> str:
        return f"{self.name or self.email or self.actor_id} ({self.actor_id})"


class SandboxContact(models.Model):
    """A CRM contact; its primary key is the contact id HubSpot would return."""

    portal = models.ForeignKey(SandboxPortal, on_delete=models.CASCADE, related_name="contacts")
    email = models.EmailField(blank=True, db_index=True)
    phone = models.CharField(max_length=40, blank=True, db_index=True)
    mobilephone = models.CharField(max_length=40, blank=True)
    firstname = models.CharField(max_length=100, blank=True)
    lastname = models.CharField(max_length=100, blank=True)
    archived = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ("id",)

    def __str__(self) -> str:
        return f"{self.firstname} {self.lastname} <{self.email or self.phone}>".strip()


class SandboxFile(models.Model):
    """An uploaded file (Files API); the bytes are kept in the row, attachments are small."""

    portal = models.ForeignKey(SandboxPortal, on_delete=models.CASCADE, related_name="files")
    name = models.CharField(max_length=255)
    extension = models.CharField(max_length=20, blank=True)
    content_type = models.CharField(max_length=100, blank=True)
    content = models.BinaryField()
    size = models.PositiveBigIntegerField(default=0)
    access = models.CharField(max_length=30, default="PRIVATE")
    folder_path = models.CharField(max_length=255, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"{self.name} (file {self.pk})"
