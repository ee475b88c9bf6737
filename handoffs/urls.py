"""URLs of the handoffs app. Each area lists its routes in its own block."""

from django.urls import path

app_name = "handoffs"

# Deals, accounts and contacts (the rep's pipeline).
from handoffs.views import accounts as account_views  # noqa: E402
from handoffs.views import deals as deal_views  # noqa: E402

deal_urlpatterns: list = [
    path("my-day/", deal_views.my_day_view, name="my_day"),
    path("pipeline/", deal_views.board, name="board"),
    path("deals/", deal_views.deal_list, name="deal_list"),
    path("deals/new/", deal_views.deal_create_view, name="deal_create"),
    path("deals/<int:pk>/", deal_views.deal_detail, name="deal_detail"),
    path("deals/<int:pk>/edit/", deal_views.deal_edit, name="deal_edit"),
    path("deals/<int:pk>/no-promises/", deal_views.deal_no_promises_view, name="deal_no_promises"),
    path("deals/<int:pk>/stage/", deal_views.deal_stage, name="deal_stage"),
    path("deals/<int:pk>/close/", deal_views.deal_close_view, name="deal_close"),
    path("deals/<int:pk>/reopen/", deal_views.deal_reopen_view, name="deal_reopen"),
    path("deals/<int:pk>/promises/", deal_views.promise_add_view, name="promise_add"),
    path("deals/<int:pk>/contacts/", deal_views.deal_contact_add_view, name="deal_contact_add"),
    path("accounts/", account_views.account_list, name="account_list"),
    path("accounts/new/", account_views.account_create_view, name="account_create"),
    path("accounts/<int:pk>/", account_views.account_detail, name="account_detail"),
    path("accounts/<int:pk>/edit/", account_views.account_edit, name="account_edit"),
    path("accounts/<int:pk>/contacts/new/", account_views.contact_create_view, name="contact_create"),
    path("contacts/<int:pk>/edit/", account_views.contact_edit, name="contact_edit"),
]

# Hand-offs, steps, meetings, playbooks, the customer status page.
from handoffs.views import customer as customer_views  # noqa: E402
from handoffs.views import handoffs as handoff_views  # noqa: E402
from handoffs.views import playbooks as playbook_views  # noqa: E402

handoff_urlpatterns: list = [
    path("handoffs/", handoff_views.handoff_list, name="handoff_list"),
    path("handoffs/mine/", handoff_views.my_handoffs_view, name="my_handoffs"),
    path("handoffs/<int:pk>/", handoff_views.handoff_detail, name="handoff_detail"),
    path("handoffs/<int:pk>/brief/", handoff_views.handoff_brief, name="handoff_brief"),
    path("handoffs/<int:pk>/propose/", handoff_views.handoff_propose, name="handoff_propose"),
    path("handoffs/<int:pk>/accept/", handoff_views.handoff_accept, name="handoff_accept"),
    path("handoffs/<int:pk>/decline/", handoff_views.handoff_decline, name="handoff_decline"),
    path("handoffs/<int:pk>/complete/", handoff_views.handoff_complete, name="handoff_complete"),
    path("handoffs/<int:pk>/meeting/", handoff_views.meeting_schedule, name="meeting_schedule"),
    path("handoffs/steps/<int:pk>/done/", handoff_views.step_complete, name="step_complete"),
    path("handoffs/steps/<int:pk>/skip/", handoff_views.step_skip, name="step_skip"),
    path("handoffs/steps/<int:pk>/reopen/", handoff_views.step_reopen, name="step_reopen"),
    path("meetings/<int:pk>/record/", handoff_views.meeting_record, name="meeting_record"),
    path("meetings/<int:pk>/move/", handoff_views.meeting_reschedule, name="meeting_reschedule"),
    path("meetings/<int:pk>/cancel/", handoff_views.meeting_cancel, name="meeting_cancel"),
    path("playbooks/", playbook_views.playbook_list, name="playbook_list"),
    path("playbooks/new/", playbook_views.playbook_create, name="playbook_create"),
    path("playbooks/<int:pk>/", playbook_views.playbook_edit, name="playbook_edit"),
    path("status/<str:token>/", customer_views.customer_status, name="customer_status"),
]

# Promises through delivery (the add form is the deal page's, above).
from handoffs.views import promises as promise_views  # noqa: E402

promise_urlpatterns: list = [
    path("promises/<int:pk>/kept/", promise_views.promise_kept, name="promise_kept"),
    path("promises/<int:pk>/broken/", promise_views.promise_broken, name="promise_broken"),
    path("promises/<int:pk>/renegotiate/", promise_views.promise_renegotiate_view, name="promise_renegotiate"),
]

urlpatterns = deal_urlpatterns + handoff_urlpatterns + promise_urlpatterns
