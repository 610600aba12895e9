from django.urls import path, re_path

from . import views

app_name = "reviews"
REF = r"(?P<ref>[Ii][Nn][Cc]-[1-9][0-9]{0,17})"

urlpatterns = [
    re_path(rf"^incidents/{REF}/review$", views.review_page, name="review"),
    re_path(rf"^incidents/{REF}/review/start$", views.review_start, name="start"),
    re_path(rf"^incidents/{REF}/review/save$", views.review_save, name="save"),
    re_path(rf"^incidents/{REF}/review/comment$", views.review_comment, name="comment"),
    re_path(rf"^incidents/{REF}/review/waive$", views.review_waive, name="waive"),
    re_path(
        rf"^incidents/{REF}/review/revisions/(?P<number>[0-9]{{1,6}})$",
        views.revision_page,
        name="revision",
    ),
    re_path(rf"^incidents/{REF}/action-items$", views.action_create, name="action_create"),
    re_path(rf"^incidents/{REF}/export\.(?P<fmt>md|json)$", views.incident_export, name="export"),
    path("actions/", views.actions_list, name="actions"),
    path("actions/<int:item_id>/status", views.action_update, name="action_update"),
    path("insights/", views.insights, name="insights"),
    re_path(r"^insights/metrics\.(?P<fmt>csv|json)$", views.insights_export, name="export_metrics"),
]
