from django.urls import include, path

urlpatterns = [
    path("scim/v2/", include("rosemeta.scim.urls", namespace="scim")),
]
# An error no view caught still answers in SCIM's words, not Django's HTML page.
handler500 = "rosemeta.scim.views.server_error"
