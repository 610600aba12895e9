from django.urls import path

from . import views

app_name = "statuspage"
urlpatterns = [
    path("", views.page, name="page"),
    path("history/", views.history, name="history"),
    path("history/<int:page>/", views.history, name="history_page"),
    path("history.atom", views.atom, name="atom"),
    path("history.rss", views.rss, name="rss"),
    path("maintenance.ics", views.ics, name="ics"),
    path("badge.svg", views.badge, name="badge"),
    path("components/<int:pk>/badge.svg", views.component_badge, name="component_badge"),
    path("incidents/<str:public_id>/", views.incident, name="incident"),
    path("maintenance/<int:pk>/", views.maintenance, name="maintenance"),
    path("subscribe/", views.subscribe, name="subscribe"),
    path("subscriptions/confirm/<str:token>/", views.confirm, name="confirm"),
    path("subscriptions/unsubscribe/<str:token>/", views.unsubscribe, name="unsubscribe"),
    path("manage/", views.manage, name="manage"),
    path("manage/incidents/<str:ref>", views.manage_incident, name="manage_incident"),
]
