from django.urls import path

from . import reset_views, views

app_name = "comms"
urlpatterns = [
    path("password/reset/", reset_views.password_reset, name="password_reset"),
    path(
        "password/reset/<str:uidb64>/<str:token>",
        reset_views.password_reset_confirm,
        name="password_reset_confirm",
    ),
    path(
        "incidents/<str:ref>/communications",
        views.incident_communications,
        name="incident",
    ),
    path("comms/deliveries/", views.deliveries_admin, name="deliveries"),
    path("comms/deliveries/<int:pk>/retry", views.delivery_retry, name="retry"),
    path("comms/channels/", views.channels, name="channels"),
    path("comms/channels/<int:pk>/", views.channel_edit, name="channel_edit"),
    path("comms/channels/<int:pk>/<slug:action>", views.channel_action, name="channel_action"),
    path("comms/preferences/", views.preferences, name="preferences"),
    path("comms/preferences/test-page", views.test_page, name="test_page"),
    path("comms/unsubscribe/<str:token>", views.unsubscribe, name="unsubscribe"),
]
