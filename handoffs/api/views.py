"""The API of deals, promises, hand-offs, their steps and meetings.

Each endpoint does what the page of the same thing does, through the same code: it
reads through the selectors (scoped by handoffs.access, so an id the user may not read
is a 404), asks the same access predicate where the page answers 403 before looking at
the input, checks the body's shape with a serializer, and calls the same service. The
services' ValidationError and PermissionDenied become the API's error body in
accounts.api.errors; a stale `version` (StaleEditError) is a 409 (accounts.api.errors).
"""

from __future__ import annotations

from collections.abc import Callable

from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import Http404
from django.shortcuts import get_object_or_404
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.permissions import BasePermission, IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response

from accounts.access import has_role
from accounts.api.serializers import ErrorSerializer
from accounts.choices import Role
from accounts.common.http import parse_id
from accounts.models import Contact
from accounts.validators import user_today
from handoffs.access import deal_editable_by, user_may_work_handoff, user_may_work_promise
from handoffs.api.filters import (
    DealApiFilter,
    HandoffApiFilter,
    ListFilterBackend,
    MeetingApiFilter,
    PromiseApiFilter,
)
from handoffs.api.serializers import (
    DealCloseResultSerializer,
    DealCloseSerializer,
    DealContactAddSerializer,
    DealContactSerializer,
    DealCreateSerializer,
    DealDetailSerializer,
    DealMoveStageSerializer,
    DealSerializer,
    DealUpdateSerializer,
    DeclineSerializer,
    EmptySerializer,
    HandoffDetailSerializer,
    HandoffSerializer,
    HandoffStepSerializer,
    MeetingCancelSerializer,
    MeetingRecordSerializer,
    MeetingScheduleSerializer,
    MeetingSerializer,
    MeetingTimeSerializer,
    NoPromisesSerializer,
    PacketPendingWaiveSerializer,
    PromiseBrokenSerializer,
    PromiseCreateSerializer,
    PromiseKeptSerializer,
    PromiseRenegotiateSerializer,
    PromiseSerializer,
    ProposeOwnerSerializer,
    StepSkipSerializer,
)
from handoffs.choices import Stage
from handoffs.models import Deal, Handoff, HandoffStep, Meeting, Promise
from handoffs.packet import deal_packet, packet_pending, packet_pending_waivable_by
from handoffs.selectors.deals import deal_for_change, deal_for_detail, deal_list_queryset
from handoffs.selectors.handoffs import (
    account_contacts,
    attach_list_rows,
    attach_overdue,
    handoff_for_change,
    handoff_for_detail,
    handoff_list_queryset,
    meeting_for_change,
    meetings_visible_to,
    step_for_change,
)
from handoffs.selectors.promises import attach_promise_people, promise_for_work, promise_list_queryset
from handoffs.services import handoffs as handoff_services
from handoffs.services.deals import (
    deal_close,
    deal_contact_add,
    deal_create,
    deal_move_stage,
    deal_no_promises_set,
    deal_packet_pending_waive,
    deal_update,
    promise_add,
)
from handoffs.services.promises import promise_mark_broken, promise_mark_kept, promise_renegotiate

# The roles of the pipeline pages (the deal list, a new deal): handoffs.views.deals.
PIPELINE_ROLES = (Role.REP, Role.MANAGER, Role.ADMIN)
# Ids in URLs: accounts.api.converters (a bigint, else the URL does not match: 404).
ID_CONVERTER = "api_id"

# The columns a row of the deal list reads (DealSerializer): the deal's own, and of its
# account and owner only the names (User.__str__), not their ~30 other columns a row.
DEAL_ROW_COLUMNS = (
    *(field.name for field in Deal._meta.concrete_fields),
    "account__name",
    "owner__first_name",
    "owner__last_name",
    "owner__username",
)
# The same for a row of the hand-off list (HandoffSerializer): of its deal and the deal's
# account only the title and the name (a deal has ~30 columns, four of them long texts).
HANDOFF_ROW_COLUMNS = (*(field.name for field in Handoff._meta.concrete_fields), "deal__title", "deal__account__name")


class PipelineRolePermission(BasePermission):
    """Reps, managers and admins, as the pipeline pages (accounts.access.has_role)."""

    message = "Your role does not give access to the pipeline."

    def has_permission(self, request: Request, view) -> bool:
        return has_role(request.user, PIPELINE_ROLES)


def url_id(view: viewsets.GenericViewSet) -> int:
    """The object id of the URL (the api_id converter matched it already; this checks
    again, so that a view reached some other way cannot pass garbage to a query)."""
    pk = parse_id(str(view.kwargs.get("pk", "")))
    if pk is None:
        raise Http404
    return pk


def body(serializer_class: type[serializers.Serializer], request: Request) -> dict:
    """The request body checked by `serializer_class` (400 with the field messages)."""
    serializer = serializer_class(data=request.data, context={"request": request})
    serializer.is_valid(raise_exception=True)
    return dict(serializer.validated_data)


def schema_only(view: viewsets.GenericViewSet) -> bool:
    """drf-spectacular instantiates views without a user to read their querysets."""
    return getattr(view, "swagger_fake_view", False)


# --- deals ----------------------------------------------------------------------------

# A change made from an old `version`: refused, nothing written.
STALE = OpenApiResponse(ErrorSerializer, description="`conflict`: the deal changed since the `version` you sent.")


@extend_schema_view(
    list=extend_schema(summary="List the deals you may read", responses=DealSerializer(many=True)),
    retrieve=extend_schema(
        summary="A deal, its contacts, promises, hand-off and packet", responses=DealDetailSerializer
    ),
    create=extend_schema(summary="Open a deal", request=DealCreateSerializer, responses={201: DealDetailSerializer}),
    partial_update=extend_schema(
        summary="Change a deal (carry its version)",
        request=DealUpdateSerializer,
        responses={200: DealDetailSerializer, 409: STALE},
    ),
)
class DealViewSet(viewsets.GenericViewSet):
    """Deals: list, read, open, change; move the stage, name a contact, state that no
    promises were made, add a promise, log the close, waive a pending packet."""

    serializer_class = DealSerializer
    filterset_class = DealApiFilter
    filter_backends = [ListFilterBackend]
    lookup_value_converter = ID_CONVERTER
    http_method_names = ["get", "post", "patch", "head", "options"]

    def get_permissions(self) -> list[BasePermission]:
        if self.action in {"list", "create"}:
            return [IsAuthenticated(), PipelineRolePermission()]
        return [IsAuthenticated()]

    def get_queryset(self) -> QuerySet[Deal]:
        if schema_only(self):
            return Deal.objects.none()
        user = self.request.user
        return deal_list_queryset(user, today=user_today(user)).only(*DEAL_ROW_COLUMNS)

    def _row(self, pk: int) -> Deal:
        return get_object_or_404(self.get_queryset(), pk=pk)

    def _detail(self, pk: int) -> dict:
        deal = deal_for_detail(self.request.user, pk)
        packet = deal_packet(deal) if deal.is_open or packet_pending(deal) else None
        return DealDetailSerializer(deal, context={"request": self.request, "packet": packet}).data

    def _changeable(self) -> Deal:
        """The deal of the URL: 404 unless the user may read it, 403 unless they may
        change it (handoffs.access.deal_editable_by, as the deal's pages)."""
        deal = deal_for_change(self.request.user, url_id(self))
        if not deal_editable_by(self.request.user, deal):
            raise PermissionDenied("You may read this deal but not change it.")
        return deal

    def list(self, request: Request) -> Response:
        page = self.paginate_queryset(self.filter_queryset(self.get_queryset()))
        return self.get_paginated_response(DealSerializer(page, many=True).data)

    def retrieve(self, request: Request, pk: str) -> Response:
        return Response(self._detail(url_id(self)))

    def create(self, request: Request) -> Response:
        data = body(DealCreateSerializer, request)
        account, owner = data.pop("account"), data.pop("owner")
        deal = deal_create(actor=request.user, account=account, owner=owner, **data)
        return Response(self._detail(deal.pk), status=status.HTTP_201_CREATED)

    def partial_update(self, request: Request, pk: str) -> Response:
        deal = self._changeable()
        data = body(DealUpdateSerializer, request)
        version, owner = data.pop("version"), data.pop("owner")
        deal_update(actor=request.user, deal=deal, expected_version=version, owner=owner, **data)
        return Response(self._detail(deal.pk))

    @extend_schema(
        summary="Move an open deal to another open stage",
        request=DealMoveStageSerializer,
        responses={200: DealSerializer, 409: STALE},
    )
    @action(detail=True, methods=["post"], url_path="move-stage")
    def move_stage(self, request: Request, pk: str) -> Response:
        deal = self._changeable()
        data = body(DealMoveStageSerializer, request)
        deal_move_stage(actor=request.user, deal=deal, stage=data["stage"], expected_version=data["version"])
        return Response(DealSerializer(self._row(deal.pk)).data)

    @extend_schema(
        summary="Name a contact of the deal's account on the deal",
        request=DealContactAddSerializer,
        responses={201: DealContactSerializer},
    )
    @action(detail=True, methods=["post"])
    def contacts(self, request: Request, pk: str) -> Response:
        deal = self._changeable()
        data = body(DealContactAddSerializer, request)
        contact = Contact.objects.filter(pk=data["contact"], account_id=deal.account_id).first()
        if contact is None:
            raise serializers.ValidationError({"contact": ["No contact of this deal's account has this id."]})
        deal_contact = deal_contact_add(actor=request.user, deal=deal, contact=contact, role=data["role"])
        return Response(DealContactSerializer(deal_contact).data, status=status.HTTP_201_CREATED)

    @extend_schema(
        summary="State (or withdraw) that no promises were made",
        description="The hand-off packet's answer when there is no promise to list; refused while "
        "promises are listed. A won deal whose packet is pending starts its hand-off once complete.",
        request=NoPromisesSerializer,
        responses=DealDetailSerializer,
    )
    @action(detail=True, methods=["post"], url_path="no-promises")
    def no_promises(self, request: Request, pk: str) -> Response:
        deal = self._changeable()
        said = body(NoPromisesSerializer, request)["no_promises_made"]
        deal_no_promises_set(actor=request.user, deal=deal, no_promises_made=said)
        return Response(self._detail(deal.pk))

    @extend_schema(
        summary="Add a promise made to the customer",
        request=PromiseCreateSerializer,
        responses={201: PromiseSerializer},
    )
    @action(detail=True, methods=["post"])
    def promises(self, request: Request, pk: str) -> Response:
        deal = deal_for_change(request.user, url_id(self))
        handoff = getattr(deal, "handoff", None)
        if not user_may_work_promise(request.user, deal=deal, handoff=handoff):
            raise PermissionDenied("Only the rep, the delivery owner or their managers add promises to this deal.")
        data = body(PromiseCreateSerializer, request)
        promise = promise_add(actor=request.user, deal=deal, **data)
        row = promise_list_queryset(request.user).get(pk=promise.pk)
        return Response(PromiseSerializer(row).data, status=status.HTTP_201_CREATED)

    @extend_schema(
        summary="Log the close (won or lost)",
        description=(
            "Won: the hand-off starts in the same transaction. When the hand-off packet is incomplete and "
            "no waiver reason is given, the deal is still recorded won, with its packet pending "
            "(`packet_pending`, `packet_missing`): the hand-off starts once the packet is complete or a "
            "manager waives it. Send an `Idempotency-Key`: a retry then never closes twice."
        ),
        request=DealCloseSerializer,
        responses={200: DealCloseResultSerializer, 409: STALE},
    )
    @action(detail=True, methods=["post"])
    def close(self, request: Request, pk: str) -> Response:
        deal = self._changeable()
        data = body(DealCloseSerializer, request)
        expected_version = data.pop("version")
        deal_close(
            actor=request.user,
            deal=deal,
            expected_version=expected_version,
            # A close from outside Baton is recorded even with its packet incomplete.
            packet_pending_ok=True,
            **data,
        )
        return Response(DealCloseResultSerializer(self._close_result(deal.pk)).data)

    def _close_result(self, pk: int) -> dict:
        closed = deal_for_detail(self.request.user, pk)
        handoff = Handoff.objects.filter(deal_id=pk).first()
        pending = packet_pending(closed)
        return {
            "deal": self._row(pk),
            "outcome": closed.stage,
            "handoff_started": handoff is not None,
            "handoff": handoff,
            "packet_pending": pending,
            "packet_missing": deal_packet(closed).missing if pending else [],
            "packet_waived": closed.stage == Stage.WON and closed.packet_waived_at is not None,
        }

    @extend_schema(
        summary="Waive what a pending packet lacks and start the hand-off (managers)",
        request=PacketPendingWaiveSerializer,
        responses=DealCloseResultSerializer,
    )
    @action(detail=True, methods=["post"], url_path="waive-pending-packet")
    def waive_pending_packet(self, request: Request, pk: str) -> Response:
        deal = deal_for_change(request.user, url_id(self))
        if not packet_pending_waivable_by(request.user, deal):
            raise PermissionDenied("Only a manager of this deal's team or an admin waives a pending packet.")
        reason = body(PacketPendingWaiveSerializer, request)["reason"]
        deal_packet_pending_waive(actor=request.user, deal=deal, reason=reason)
        return Response(DealCloseResultSerializer(self._close_result(deal.pk)).data)


# --- promises -------------------------------------------------------------------------


@extend_schema_view(
    list=extend_schema(summary="List the promises of the deals you may read", responses=PromiseSerializer(many=True)),
    retrieve=extend_schema(summary="A promise", responses=PromiseSerializer),
)
class PromiseViewSet(viewsets.GenericViewSet):
    """Promises through delivery: list, read, mark kept, mark broken, renegotiate."""

    serializer_class = PromiseSerializer
    filterset_class = PromiseApiFilter
    filter_backends = [ListFilterBackend]
    lookup_value_converter = ID_CONVERTER

    def get_queryset(self) -> QuerySet[Promise]:
        if schema_only(self):
            return Promise.objects.none()
        user = self.request.user
        return promise_list_queryset(user, today=user_today(user))

    def list(self, request: Request) -> Response:
        # The rows without their people; the page's people in one query once paginated.
        rows = self.get_queryset().select_related(None)
        page = attach_promise_people(self.paginate_queryset(self.filter_queryset(rows)))
        return self.get_paginated_response(PromiseSerializer(page, many=True).data)

    def retrieve(self, request: Request, pk: str) -> Response:
        return Response(PromiseSerializer(get_object_or_404(self.get_queryset(), pk=url_id(self))).data)

    def _work(self, request: Request, serializer_class: type[serializers.Serializer], service: Callable) -> Response:
        """A change of the promise: 404 unless its deal is readable, 403 unless the user
        works its promises (handoffs.access.user_may_work_promise), then the service."""
        work = promise_for_work(request.user, url_id(self))
        if not user_may_work_promise(request.user, deal=work.deal, handoff=work.handoff, promise=work.promise):
            raise PermissionDenied("Only the delivery owner, the rep or their managers work this deal's promises.")
        service(actor=request.user, promise=work.promise, **body(serializer_class, request))
        return Response(PromiseSerializer(get_object_or_404(self.get_queryset(), pk=work.promise.pk)).data)

    @extend_schema(summary="Mark the promise kept", request=PromiseKeptSerializer, responses=PromiseSerializer)
    @action(detail=True, methods=["post"])
    def kept(self, request: Request, pk: str) -> Response:
        return self._work(request, PromiseKeptSerializer, promise_mark_kept)

    @extend_schema(summary="Mark the promise broken", request=PromiseBrokenSerializer, responses=PromiseSerializer)
    @action(detail=True, methods=["post"])
    def broken(self, request: Request, pk: str) -> Response:
        return self._work(request, PromiseBrokenSerializer, promise_mark_broken)

    @extend_schema(
        summary="Renegotiate the promise's wording and due date",
        request=PromiseRenegotiateSerializer,
        responses=PromiseSerializer,
    )
    @action(detail=True, methods=["post"])
    def renegotiate(self, request: Request, pk: str) -> Response:
        return self._work(request, PromiseRenegotiateSerializer, promise_renegotiate)


# --- hand-offs ------------------------------------------------------------------------


@extend_schema_view(
    list=extend_schema(summary="List the hand-offs you may read", responses=HandoffSerializer(many=True)),
    retrieve=extend_schema(
        summary="A hand-off with its steps, meetings and promises", responses=HandoffDetailSerializer
    ),
)
class HandoffViewSet(viewsets.GenericViewSet):
    """Hand-offs: list, read, propose an owner, accept, decline, complete, schedule the
    three-way meeting."""

    serializer_class = HandoffSerializer
    filterset_class = HandoffApiFilter
    filter_backends = [ListFilterBackend]
    lookup_value_converter = ID_CONVERTER

    def get_queryset(self) -> QuerySet[Handoff]:
        """The list's rows, in handoffs_visible_to's `per_row` shape: the page walks the
        hand-offs newest first and checks each one's deal as it goes, stopping after 51.
        The list's other shape first hashes every deal id the user's teams hold (~34k for
        a manager at 100k deals, ~10 ms on every page), which pays off only for a count,
        and the cursor pagination counts nothing."""
        if schema_only(self):
            return Handoff.objects.none()
        return handoff_list_queryset(self.request.user, per_row=True).only(*HANDOFF_ROW_COLUMNS)

    def list(self, request: Request) -> Response:
        page = self.paginate_queryset(self.filter_queryset(self.get_queryset()))
        # The people and late-step counts are read for the page's rows only (two queries).
        attach_list_rows(page, today=user_today(request.user))
        return self.get_paginated_response(HandoffSerializer(page, many=True).data)

    def retrieve(self, request: Request, pk: str) -> Response:
        handoff = handoff_for_detail(request.user, url_id(self))
        attach_overdue([handoff], today=user_today(request.user))
        return Response(HandoffDetailSerializer(handoff).data)

    def _answer(self, handoff: Handoff) -> Response:
        """The hand-off as it is after a change; the list row if the user still reads
        it (a lead who declined may not), else the row the service returned."""
        row = handoff_list_queryset(self.request.user, per_row=True).filter(pk=handoff.pk).first() or handoff
        attach_list_rows([row], today=user_today(self.request.user))
        return Response(HandoffSerializer(row).data)

    @extend_schema(summary="Propose a delivery owner", request=ProposeOwnerSerializer, responses=HandoffSerializer)
    @action(detail=True, methods=["post"])
    def propose(self, request: Request, pk: str) -> Response:
        handoff = handoff_for_change(request.user, url_id(self))
        owner = body(ProposeOwnerSerializer, request)["owner"]
        return self._answer(handoff_services.handoff_propose_owner(actor=request.user, handoff=handoff, owner=owner))

    @extend_schema(summary="Accept the hand-off (the proposed lead)", request=None, responses=HandoffSerializer)
    @action(detail=True, methods=["post"])
    def accept(self, request: Request, pk: str) -> Response:
        handoff = handoff_for_change(request.user, url_id(self))
        body(EmptySerializer, request)
        return self._answer(handoff_services.handoff_accept(actor=request.user, handoff=handoff))

    @extend_schema(summary="Decline the hand-off, saying why", request=DeclineSerializer, responses=HandoffSerializer)
    @action(detail=True, methods=["post"])
    def decline(self, request: Request, pk: str) -> Response:
        handoff = handoff_for_change(request.user, url_id(self))
        reason = body(DeclineSerializer, request)["reason"]
        return self._answer(handoff_services.handoff_decline(actor=request.user, handoff=handoff, reason=reason))

    @extend_schema(summary="Complete the hand-off", request=None, responses=HandoffSerializer)
    @action(detail=True, methods=["post"])
    def complete(self, request: Request, pk: str) -> Response:
        handoff = handoff_for_change(request.user, url_id(self))
        body(EmptySerializer, request)
        return self._answer(handoff_services.handoff_complete(actor=request.user, handoff=handoff))

    @extend_schema(
        summary="Schedule the three-way meeting",
        request=MeetingScheduleSerializer,
        responses={201: MeetingSerializer},
    )
    @action(detail=True, methods=["post"], url_path="schedule-meeting")
    def schedule_meeting(self, request: Request, pk: str) -> Response:
        handoff = handoff_for_change(request.user, url_id(self))
        if not user_may_work_handoff(request.user, handoff):
            raise PermissionDenied("Only the rep, the delivery owner or their managers run the hand-off meeting.")
        data = body(MeetingScheduleSerializer, request)
        wanted = set(data.pop("contacts"))
        contacts = list(account_contacts(handoff).filter(pk__in=wanted))
        unknown = wanted - {contact.pk for contact in contacts}
        if unknown:
            ids = ", ".join(str(pk) for pk in sorted(unknown))
            raise serializers.ValidationError({"contacts": [f"Not contacts of this deal's account: {ids}."]})
        meeting = handoff_services.meeting_schedule(actor=request.user, handoff=handoff, contacts=contacts, **data)
        row = meetings_visible_to(request.user).get(pk=meeting.pk)
        return Response(MeetingSerializer(row).data, status=status.HTTP_201_CREATED)


@extend_schema_view(retrieve=extend_schema(summary="A hand-off step", responses=HandoffStepSerializer))
class HandoffStepViewSet(viewsets.GenericViewSet):
    """The steps of a hand-off: read one, mark it done, skip it (with a reason), reopen it."""

    serializer_class = HandoffStepSerializer
    lookup_value_converter = ID_CONVERTER

    def get_queryset(self) -> QuerySet[HandoffStep]:
        return HandoffStep.objects.none()

    def _step(self) -> HandoffStep:
        return step_for_change(self.request.user, url_id(self))

    def retrieve(self, request: Request, pk: str) -> Response:
        return Response(HandoffStepSerializer(self._step()).data)

    def _change(
        self, request: Request, service: Callable[..., object], serializer_class: type[serializers.Serializer]
    ) -> Response:
        """404 unless the step's hand-off is readable, then the body, then the service
        (which says who may work the step); the step as it is now."""
        step = self._step()
        service(actor=request.user, step=step, **body(serializer_class, request))
        return Response(HandoffStepSerializer(self._step()).data)

    @extend_schema(summary="Mark the step done", request=None, responses=HandoffStepSerializer)
    @action(detail=True, methods=["post"])
    def complete(self, request: Request, pk: str) -> Response:
        return self._change(request, handoff_services.handoff_step_complete, EmptySerializer)

    @extend_schema(summary="Skip the step, saying why", request=StepSkipSerializer, responses=HandoffStepSerializer)
    @action(detail=True, methods=["post"])
    def skip(self, request: Request, pk: str) -> Response:
        return self._change(request, handoff_services.handoff_step_skip, StepSkipSerializer)

    @extend_schema(summary="Reopen a done or skipped step", request=None, responses=HandoffStepSerializer)
    @action(detail=True, methods=["post"])
    def reopen(self, request: Request, pk: str) -> Response:
        return self._change(request, handoff_services.handoff_step_reopen, EmptySerializer)


# --- meetings -------------------------------------------------------------------------


@extend_schema_view(
    list=extend_schema(
        summary="List the meetings of the hand-offs you may read", responses=MeetingSerializer(many=True)
    ),
    retrieve=extend_schema(summary="A hand-off meeting", responses=MeetingSerializer),
)
class MeetingViewSet(viewsets.GenericViewSet):
    """Hand-off meetings: list, read, reschedule, cancel, record (scheduling one is an
    action of its hand-off)."""

    serializer_class = MeetingSerializer
    filterset_class = MeetingApiFilter
    filter_backends = [ListFilterBackend]
    lookup_value_converter = ID_CONVERTER

    def get_queryset(self) -> QuerySet[Meeting]:
        if schema_only(self):
            return Meeting.objects.none()
        return meetings_visible_to(self.request.user).order_by("-starts_at", "-id")

    def list(self, request: Request) -> Response:
        page = self.paginate_queryset(self.filter_queryset(self.get_queryset()))
        return self.get_paginated_response(MeetingSerializer(page, many=True).data)

    def retrieve(self, request: Request, pk: str) -> Response:
        return Response(MeetingSerializer(get_object_or_404(self.get_queryset(), pk=url_id(self))).data)

    def _workable(self) -> Meeting:
        """The meeting of the URL: 404 unless its hand-off is readable, 403 unless the
        user works the hand-off (handoffs.access.user_may_work_handoff, as the pages)."""
        meeting = meeting_for_change(self.request.user, url_id(self))
        if not user_may_work_handoff(self.request.user, meeting.handoff):
            raise PermissionDenied("Only the rep, the delivery owner or their managers run the hand-off meeting.")
        return meeting

    def _answer(self, meeting: Meeting) -> Response:
        return Response(MeetingSerializer(self.get_queryset().get(pk=meeting.pk)).data)

    @extend_schema(summary="Move the meeting", request=MeetingTimeSerializer, responses=MeetingSerializer)
    @action(detail=True, methods=["post"])
    def reschedule(self, request: Request, pk: str) -> Response:
        meeting = self._workable()
        data = body(MeetingTimeSerializer, request)
        return self._answer(handoff_services.meeting_reschedule(actor=request.user, meeting=meeting, **data))

    @extend_schema(summary="Cancel the meeting", request=MeetingCancelSerializer, responses=MeetingSerializer)
    @action(detail=True, methods=["post"])
    def cancel(self, request: Request, pk: str) -> Response:
        meeting = self._workable()
        reason = body(MeetingCancelSerializer, request)["reason"]
        return self._answer(handoff_services.meeting_cancel(actor=request.user, meeting=meeting, reason=reason))

    @extend_schema(
        summary="Record the meeting: who attended, what was agreed, the promises' review",
        request=MeetingRecordSerializer,
        responses=MeetingSerializer,
    )
    @action(detail=True, methods=["post"])
    def record(self, request: Request, pk: str) -> Response:
        meeting = self._workable()
        data = body(MeetingRecordSerializer, request)
        reviews = data["promise_reviews"]
        wanted = {review["promise"] for review in reviews}
        promises = {
            promise.pk: promise for promise in Promise.objects.filter(deal_id=meeting.handoff.deal_id, pk__in=wanted)
        }
        unknown = wanted - set(promises)
        if unknown:
            ids = ", ".join(str(pk) for pk in sorted(unknown))
            raise serializers.ValidationError({"promise_reviews": [f"Not promises of this deal: {ids}."]})
        recorded = handoff_services.meeting_record(
            actor=request.user,
            meeting=meeting,
            attended_user_ids=data["attended_users"],
            attended_contact_ids=data["attended_contacts"],
            agreement=data["agreement"],
            promise_reviews=[
                (promises[review["promise"]], review["decision"], review["new_wording"], review["reason"])
                for review in reviews
            ],
        )
        return self._answer(recorded)
