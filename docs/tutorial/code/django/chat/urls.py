from django.urls import include, path

from . import views

urlpatterns = [
    path("", views.index, name="index"),
    path("messages", views.post_message, name="post_message"),
    path("auth/", include("pb_ssr_django.urls")),  # sign-in, sign-up, sign-out
]
