"""The API of check-ins, the outbox (read) and the dropped-baton report (read).

As handoffs.api.views: each endpoint reads through the same selectors and access rules as
its page (followups.access: whose check-ins, which teams of the report; the outbox is the
admins'), checks the body's shape and calls the same service; errors are the API's one
error body (accounts.api.errors).
"""

from __future__ import annotations

from collections.abc import Callable

from django.core.exceptions import NON_FIELD_ERRORS
from django.db.models import QuerySet
from django.shortcuts import get_object_or_404
from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.permissions import BasePermission, IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.settings import api_settings
from rest_framework.views import APIView

from accounts.access import has_role
from accounts.choices import Role
from accounts.validators import user_today
from followups.access import report_allowed_teams, report_team_ids
from followups.api.filters import CheckInApiFilter, OutboxApiFilter
from followups.api.serializers import (
    CheckInAddSerializer,
    CheckInDetailSerializer,
    CheckInLogSerializer,
    CheckInMoveSerializer,
    CheckInSerializer,
    OutboxMessageSerializer,
    ReportQuerySerializer,
    ReportSerializer,
)
from followups.forms_report import DEFAULT_PERIOD, ReportPeriodForm
from followups.models import CheckIn, OutboxMessage
from followups.selectors.checkins import checkin_list_queryset
from followups.selectors.outbox import outbox_messages_for_admin
from followups.selectors.report import (
    LATENCY_METRICS,
    LatencyRow,
    ReportSummary,
    packet_waivers,
    promise_keeping_by_rep,
    pulse_summary,
    report_summary,
)
from followups.services.checkins import checkin_add, checkin_log, checkin_reschedule
from followups.views.checkins import CHECKIN_ROLES
from handoffs.api.filters import ListFilterBackend
from handoffs.api.views import ID_CONVERTER, body, schema_only, url_id


class CheckInRolePermission(BasePermission):
    """Reps, managers and admins, as the check-in pages (followups.views.checkins)."""

    message = "Your role does not give access to check-ins."

    def has_permission(self, request: Request, view) -> bool:
        return has_role(request.user, (*CHECKIN_ROLES, Role.ADMIN))


class AdminRolePermission(BasePermission):
    """Admins only, as the /outbox/ page."""

    message = "Only admins see the outbox."

    def has_permission(self, request: Request, view) -> bool:
        return has_role(request.user, (Role.ADMIN,))


class ReportRolePermission(BasePermission):
    """Managers and admins, as the /report/ page (followups.access.report_allowed_teams
    then says which teams)."""

    message = "Only managers and admins see the dropped-baton report."

    def has_permission(self, request: Request, view) -> bool:
        return has_role(request.user, (Role.MANAGER, Role.ADMIN))


# --- check-ins ------------------------------------------------------------------------


@extend_schema_view(
    list=extend_schema(
        summary="List the check-ins you may work (yours; a manager's also their team's)",
        responses=CheckInSerializer(many=True),
    ),
    retrieve=extend_schema(summary="A check-in and the history of its moves", responses=CheckInDetailSerializer),
    create=extend_schema(
        summary="Add a check-in outside the cadence",
        request=CheckInAddSerializer,
        responses={201: CheckInDetailSerializer},
    ),
)
class CheckInViewSet(viewsets.GenericViewSet):
    """Check-ins: list, read, add one by hand, log one (it is then done), move one to
    another day."""

    serializer_class = CheckInSerializer
    filterset_class = CheckInApiFilter
    filter_backends = [ListFilterBackend]
    permission_classes = [IsAuthenticated, CheckInRolePermission]
    lookup_value_converter = ID_CONVERTER

    def get_queryset(self) -> QuerySet[CheckIn]:
        if schema_only(self):
            return CheckIn.objects.none()
        return checkin_list_queryset(self.request.user)

    def list(self, request: Request) -> Response:
        page = self.paginate_queryset(self.filter_queryset(self.get_queryset()))
        return self.get_paginated_response(CheckInSerializer(page, many=True).data)

    def _detail(self, pk: int) -> Response:
        checkin = get_object_or_404(
            self.get_queryset().prefetch_related("reschedules__rescheduled_by"),
            pk=pk,
        )
        return Response(CheckInDetailSerializer(checkin).data)

    def retrieve(self, request: Request, pk: str) -> Response:
        return self._detail(url_id(self))

    def create(self, request: Request) -> Response:
        data = body(CheckInAddSerializer, request)
        checkin = checkin_add(actor=request.user, handoff=data["handoff"], due_on=data["due_on"])
        response = self._detail(checkin.pk)
        response.status_code = status.HTTP_201_CREATED
        return response

    def _work(self, request: Request, serializer_class: type[serializers.Serializer], service: Callable) -> Response:
        checkin = get_object_or_404(self.get_queryset(), pk=url_id(self))  # someone else's: 404
        service(actor=request.user, checkin=checkin, **body(serializer_class, request))
        return self._detail(checkin.pk)

    @extend_schema(
        summary="Log the check-in (it is then done)", request=CheckInLogSerializer, responses=CheckInDetailSerializer
    )
    @action(detail=True, methods=["post"])
    def log(self, request: Request, pk: str) -> Response:
        return self._work(request, CheckInLogSerializer, checkin_log)

    @extend_schema(
        summary="Move the check-in to another day, saying why",
        request=CheckInMoveSerializer,
        responses=CheckInDetailSerializer,
    )
    @action(detail=True, methods=["post"])
    def reschedule(self, request: Request, pk: str) -> Response:
        return self._work(request, CheckInMoveSerializer, checkin_reschedule)


# --- the outbox -----------------------------------------------------------------------


@extend_schema_view(
    list=extend_schema(summary="List the outbox's messages (admins)", responses=OutboxMessageSerializer(many=True)),
    retrieve=extend_schema(summary="An outbox message (admins)", responses=OutboxMessageSerializer),
)
class OutboxMessageViewSet(viewsets.GenericViewSet):
    """Every message Baton sends, as the admins' /outbox/ page shows them: read only."""

    serializer_class = OutboxMessageSerializer
    filterset_class = OutboxApiFilter
    filter_backends = [ListFilterBackend]
    permission_classes = [IsAuthenticated, AdminRolePermission]
    lookup_value_converter = ID_CONVERTER

    def get_queryset(self) -> QuerySet[OutboxMessage]:
        if schema_only(self):
            return OutboxMessage.objects.none()
        return outbox_messages_for_admin(status=None)

    def list(self, request: Request) -> Response:
        page = self.paginate_queryset(self.filter_queryset(self.get_queryset()))
        return self.get_paginated_response(OutboxMessageSerializer(page, many=True).data)

    def retrieve(self, request: Request, pk: str) -> Response:
        return Response(OutboxMessageSerializer(get_object_or_404(self.get_queryset(), pk=url_id(self))).data)


# --- the dropped-baton report -----------------------------------------------------------


def _latency_row(row: LatencyRow) -> dict:
    return {
        "id": row.key,
        "name": row.name,
        "figures": {
            metric: {"median_days": median, "p90_days": p90, "count": count}
            for metric, (median, p90, count) in row.figures.items()
            if metric in LATENCY_METRICS
        },
    }


def report_data(summary: ReportSummary, **extras: object) -> dict:
    """The report's figures in the shape of ReportSerializer."""
    return {
        "period": summary.period,
        "previous_period": summary.previous_period,
        "refreshed_at": summary.refreshed_at,
        "total": summary.total,
        "previous_total": summary.previous_total,
        "by_code": summary.rows_by_code,
        "by_rep": summary.by_rep,
        "by_owner": summary.by_owner,
        "by_team": summary.by_team,
        "trend": summary.trend,
        "latency": {
            "overall": _latency_row(summary.latency_overall),
            "by_rep": [_latency_row(row) for row in summary.latency_by_rep],
            "by_team": [_latency_row(row) for row in summary.latency_by_team],
        },
        "latency_trend": summary.latency_trend,
        **extras,
    }


def _form_errors(form: ReportPeriodForm) -> dict[str, list[str]]:
    return {
        (api_settings.NON_FIELD_ERRORS_KEY if field == NON_FIELD_ERRORS else field): list(messages)
        for field, messages in form.errors.items()
    }


class ReportView(APIView):
    """The dropped-baton report of a period: the same figures as /report/, for the teams
    the user may read (followups.access.report_team_ids)."""

    permission_classes = [IsAuthenticated, ReportRolePermission]

    @extend_schema(
        summary="The dropped-baton report of a period (managers: their teams; admins: all)",
        parameters=[ReportQuerySerializer],
        responses=ReportSerializer,
    )
    def get(self, request: Request) -> Response:
        query = ReportQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        user = request.user
        team_id = query.validated_data.get("team")
        team_ids = report_team_ids(user, team_id=team_id)  # a team that is not the user's: 404
        data = {key: value for key, value in query.validated_data.items() if value is not None}
        form = ReportPeriodForm(data or {"period": DEFAULT_PERIOD}, teams=report_allowed_teams(user))
        if not form.is_valid():
            raise serializers.ValidationError(_form_errors(form))
        period = form.period_value(today=user_today(user))
        summary = report_summary(user, period=period, team_id=team_id)
        report = report_data(
            summary,
            pulse=pulse_summary(team_ids, period=period),
            packet_waivers=packet_waivers(team_ids, period=period),
            promise_keeping=promise_keeping_by_rep(team_ids, period=period),
        )
        return Response(ReportSerializer(report).data)
