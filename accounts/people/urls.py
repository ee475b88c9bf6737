"""The People, Teams and Audit log pages (admins only), included at the site's root."""

from django.urls import path

from accounts.people import views

app_name = "people"
urlpatterns = [
    path("people/", views.people_list_view, name="list"),
    path("people/invite/", views.people_invite_view, name="invite"),
    path("people/<int:user_id>/", views.person_edit_view, name="edit"),
    path("people/<int:user_id>/deactivate/", views.person_deactivate_view, name="deactivate"),
    path("people/<int:user_id>/reactivate/", views.person_reactivate_view, name="reactivate"),
    path("people/<int:user_id>/resend-invitation/", views.person_resend_invite_view, name="resend_invite"),
    path("people/<int:user_id>/unlock/", views.person_unlock_view, name="unlock"),
    path("teams/", views.team_list_view, name="team_list"),
    path("teams/<int:team_id>/", views.team_edit_view, name="team_edit"),
    path("teams/<int:team_id>/delete/", views.team_delete_view, name="team_delete"),
    path("audit/", views.audit_log_view, name="audit_log"),
]
