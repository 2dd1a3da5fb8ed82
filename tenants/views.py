"""The invitation link's page: set a password, join the organisation, land in the admin.

GET shows the form (or why the link no longer works); POST validates the password with Django's
validators, accepts, signs the person in and redirects (POST/redirect/GET), so Back or reload
never submits twice, and a used link says so.
"""

from django import forms
from django.contrib import messages
from django.contrib.auth import login, password_validation
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.debug import sensitive_post_parameters

from tenants import invitations


class SetPasswordForm(forms.Form):
    password1 = forms.CharField(
        label="New password", strip=False, widget=forms.PasswordInput(attrs={"autocomplete": "new-password"})
    )
    password2 = forms.CharField(
        label="New password again",
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
    )

    def __init__(self, *args, email: str, **kwargs):
        super().__init__(*args, **kwargs)
        self.email = email

    def clean(self):
        data = super().clean()
        first, second = data.get("password1"), data.get("password2")
        if first and second and first != second:
            self.add_error("password2", "The two passwords differ.")
        elif first:
            from django.contrib.auth import get_user_model

            probe = get_user_model()(username=self.email, email=self.email)
            try:
                password_validation.validate_password(first, probe)
            except forms.ValidationError as exc:
                self.add_error("password1", exc)
        return data


@never_cache
@sensitive_post_parameters("password1", "password2")
def accept(request, token: str):
    try:
        invitation = invitations.pending(token)
    except invitations.InvitationError as exc:
        return TemplateResponse(request, "tenants/invitation.html", {"error": str(exc)}, status=410)
    form = SetPasswordForm(request.POST or None, email=invitation.email)
    if request.method == "POST" and form.is_valid():
        try:
            user = invitations.accept(token, form.cleaned_data["password1"])
        except invitations.InvitationError as exc:
            return TemplateResponse(request, "tenants/invitation.html", {"error": str(exc)}, status=410)
        login(request, user, backend="django.contrib.auth.backends.ModelBackend")
        messages.success(request, f"Welcome to {invitation.tenant}. You sign in as {user.get_username()}.")
        return redirect("admin:index")
    return TemplateResponse(request, "tenants/invitation.html", {"invitation": invitation, "form": form})
