from django.urls import path

from . import views

app_name = "policy"
urlpatterns = [
    path("guidelines/", views.guideline_list, name="guidelines"),
    path("guidelines/in-place/", views.guideline_coverage, name="coverage"),
    path("guidelines/new/", views.guideline_new, name="guideline_new"),
    path(
        "guidelines/<slug:type_key>/<slug:severity>/",
        views.guideline_edit,
        name="guideline_edit",
    ),
    path(
        "guidelines/<slug:type_key>/<slug:severity>/delete/",
        views.guideline_delete,
        name="guideline_delete",
    ),
]
