"""URLs of the handoffs app. Each area lists its routes in its own block."""

from django.urls import path

app_name = "handoffs"

# Deals, accounts and contacts (the rep's pipeline).
from handoffs.views import accounts as account_views  # noqa: E402
from handoffs.views import deals as deal_views  # noqa: E402
from handoffs.views import packet_pending as packet_pending_views  # noqa: E402

deal_urlpatterns: list = [
    path("my-day/", deal_views.my_day_view, name="my_day"),
    path("pipeline/", deal_views.board, name="board"),
    path("deals/", deal_views.deal_list, name="deal_list"),
    path("deals/export/", deal_views.deal_export, name="deal_export"),
    path("deals/promises/export/", deal_views.promise_export, name="promise_export"),
    path("deals/new/", deal_views.deal_create_view, name="deal_create"),
    path("deals/<int:pk>/", deal_views.deal_detail, name="deal_detail"),
    path("deals/<int:pk>/edit/", deal_views.deal_edit, name="deal_edit"),
    path("deals/<int:pk>/no-promises/", deal_views.deal_no_promises_view, name="deal_no_promises"),
    path("deals/<int:pk>/stage/", deal_views.deal_stage, name="deal_stage"),
    path("deals/<int:pk>/close/", deal_views.deal_close_view, name="deal_close"),
    path("deals/<int:pk>/reopen/", deal_views.deal_reopen_view, name="deal_reopen"),
    path("deals/<int:pk>/promises/", deal_views.promise_add_view, name="promise_add"),
    path("deals/<int:pk>/contacts/", deal_views.deal_contact_add_view, name="deal_contact_add"),
    path("deals/<int:pk>/packet/waive/", packet_pending_views.deal_packet_pending_waive_view, name="deal_packet_waive"),
    path(
        "deals/<int:pk>/packet/recheck/",
        packet_pending_views.deal_packet_pending_recheck_view,
        name="deal_packet_recheck",
    ),
    path("accounts/", account_views.account_list, name="account_list"),
    path("accounts/export/", account_views.account_export, name="account_export"),
    path("accounts/contacts/export/", account_views.contact_export, name="contact_export"),
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
    path("handoffs/export/", handoff_views.handoff_export, name="handoff_export"),
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
    path("handoffs/<int:pk>/customer-links/", customer_views.customer_links, name="customer_links"),
    path(
        "handoffs/<int:pk>/customer-links/<int:contact_pk>/revoke/",
        customer_views.customer_link_revoke_view,
        name="customer_link_revoke",
    ),
    path(
        "handoffs/<int:pk>/customer-links/<int:contact_pk>/send/",
        customer_views.customer_link_send_view,
        name="customer_link_send",
    ),
]

# Promises through delivery (the add form is the deal page's, above).
from handoffs.views import promises as promise_views  # noqa: E402

promise_urlpatterns: list = [
    path("promises/<int:pk>/kept/", promise_views.promise_kept, name="promise_kept"),
    path("promises/<int:pk>/broken/", promise_views.promise_broken, name="promise_broken"),
    path("promises/<int:pk>/renegotiate/", promise_views.promise_renegotiate_view, name="promise_renegotiate"),
]

# Closes straight from the CRM: the endpoint (under the API's prefix; this module is
# mounted at the root) and the admins' pages.
from handoffs.views import inbound as inbound_views  # noqa: E402

inbound_urlpatterns: list = [
    path("api/v1/inbound/<slug:slug>/", inbound_views.InboundReceiveView.as_view(), name="inbound_receive"),
    path("inbound/", inbound_views.inbound_admin, name="inbound_admin"),
    path("inbound/sources/new/", inbound_views.inbound_source_create_view, name="inbound_source_create"),
    path("inbound/sources/<int:pk>/", inbound_views.inbound_source_detail, name="inbound_source_detail"),
    path("inbound/sources/<int:pk>/rotate/", inbound_views.inbound_source_rotate_view, name="inbound_source_rotate"),
    path("inbound/deliveries/<int:pk>/", inbound_views.inbound_delivery_detail, name="inbound_delivery_detail"),
    path(
        "inbound/deliveries/<int:pk>/replay/",
        inbound_views.inbound_delivery_replay_view,
        name="inbound_delivery_replay",
    ),
]

# Imports of accounts, contacts and deals from CSV files (managers and admins).
from handoffs.views import imports as import_views  # noqa: E402

import_urlpatterns: list = [
    path("imports/", import_views.import_list, name="import_list"),
    path("imports/new/", import_views.import_upload_view, name="import_upload"),
    path("imports/<int:pk>/", import_views.import_detail, name="import_detail"),
    path("imports/<int:pk>/mapping/", import_views.import_mapping, name="import_mapping"),
    path("imports/<int:pk>/dry-run/", import_views.import_dry_run_view, name="import_dry_run"),
    path("imports/<int:pk>/start/", import_views.import_start_view, name="import_start"),
    path("imports/<int:pk>/progress/", import_views.import_progress_view, name="import_progress"),
    path("imports/<int:pk>/rejected.csv", import_views.import_rejects_csv, name="import_rejects"),
]

# A deal's next step set in place from My day, the board and the deal page (issue 16).
from handoffs.views import next_step as next_step_views  # noqa: E402

next_step_urlpatterns: list = [
    path("deals/<int:pk>/next-step/", next_step_views.deal_next_step, name="deal_next_step"),
]

# Global search: the page and the top bar's dropdown (issue 16).
from handoffs.views import search as search_views  # noqa: E402

search_urlpatterns: list = [
    path("search/", search_views.search, name="search"),
]

urlpatterns = deal_urlpatterns + handoff_urlpatterns + promise_urlpatterns + inbound_urlpatterns + import_urlpatterns
urlpatterns += search_urlpatterns
urlpatterns += next_step_urlpatterns
