from django.urls import path

from tenants import views

urlpatterns = [path("<str:token>/", views.accept, name="invitation-accept")]
