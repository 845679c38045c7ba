"""The pipeline board's pages on the opportunity admin: the board with its
filters, and moving a card (a POST). The columns and the move itself are
the domain's (crm/board.py)."""

from django import forms
from django.contrib import messages
from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied, ValidationError
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.text import capfirst
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_POST

from crm.board import board_columns, move_opportunity, rollup_column_totals
from crm.largelists.search import search_opportunities
from crm.models import Stage
from crm.roles import sees_all_records


class BoardAdminMixin:
    """Gives the opportunity admin the board's two URLs and their views,
    with its own permission checks and visible opportunities."""

    def get_urls(self):
        board_urls = [
            path(
                "board/",
                self.admin_site.admin_view(self.board_view),
                name="crm_opportunity_board",
            ),
            path(
                "board/move/",
                self.admin_site.admin_view(require_POST(self.board_move_view)),
                name="crm_opportunity_board_move",
            ),
        ]
        return board_urls + super().get_urls()

    def board_view(self, request):
        if not self.has_view_permission(request):
            raise PermissionDenied
        filters = BoardFilterForm(request.GET, user=request.user)
        opportunities = self.get_queryset(request)
        owner, term = None, ""
        if filters.is_valid():
            owner, term = filters.cleaned_data.get("owner"), filters.cleaned_data["q"]
            if owner:
                opportunities = opportunities.filter(owner=owner)
            opportunities = search_opportunities(opportunities, term)
        context = {
            **self.admin_site.each_context(request),
            "title": gettext("Pipeline board"),
            "opts": self.model._meta,
            "columns": board_columns(
                opportunities, totals=self._rollup_totals(request.user, owner, term)
            ),
            "filters": filters,
            "can_move": self.has_change_permission(request),
            "changelist_url": reverse("admin:crm_opportunity_changelist"),
        }
        return TemplateResponse(request, "admin/crm/opportunity/board.html", context)

    @staticmethod
    def _rollup_totals(user, owner, term):
        """The columns' totals from the rollups where they count the same deals
        as the board (everyone's, or one owner's); None: count the board's own."""
        if term.strip():
            return None
        if sees_all_records(user):
            return rollup_column_totals(owner.pk if owner else None)
        if owner is None or owner == user:  # her board is her own deals
            return rollup_column_totals(user.pk)
        return None

    def board_move_view(self, request):
        form = BoardMoveForm(request.POST)
        if not form.is_valid():
            messages.error(request, " ".join(
                f"{capfirst(form.fields[name].label)}: {' '.join(errors)}"
                for name, errors in form.errors.items()
            ))
            return redirect(self._board_return_url(request))
        opportunity = get_object_or_404(
            self.get_queryset(request), pk=form.cleaned_data["opportunity"]
        )
        if not self.has_change_permission(request, opportunity):
            raise PermissionDenied
        stage = form.cleaned_data["stage"]
        try:
            move_opportunity(
                opportunity, stage, by=request.user, lost_reason=form.cleaned_data["lost_reason"]
            )
        except ValidationError as error:
            # The card stays where it was; the message says which one and why.
            messages.error(request, gettext("“%(title)s” was not moved: %(reason)s") % {
                "title": opportunity.title, "reason": " ".join(error.messages),
            })
            return redirect(f"{self._board_return_url(request)}#card-{opportunity.pk}")
        else:
            messages.success(request, gettext("“%(title)s” is now in %(stage)s.") % {
                "title": opportunity.title, "stage": Stage(stage).label,
            })
        return redirect(self._board_return_url(request))

    def _board_return_url(self, request):
        """Back to the board the move came from (its filters kept), never off-site."""
        target = request.POST.get("next", "")
        # Only a path: redirect() would take "foo" for a URL pattern's name.
        if target.startswith("/") and url_has_allowed_host_and_scheme(
            target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
        ):
            return target
        return reverse("admin:crm_opportunity_board")


class BoardFilterForm(forms.Form):
    owner = forms.ModelChoiceField(
        label=_("owner"),
        queryset=get_user_model().objects.filter(is_active=True).order_by("username"),
        required=False,
        empty_label=_("All owners"),
        widget=forms.Select(attrs={"class": "form-select form-select-sm"}),
    )
    q = forms.CharField(
        label=_("Search"),
        required=False,
        widget=forms.TextInput(attrs={
            "class": "form-control form-control-sm",
            "placeholder": _("Title, customer or WhatsApp number"),
            "type": "search",
        }),
    )

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        if not sees_all_records(user):
            # A salesperson's board shows only their deals: no one else to pick.
            del self.fields["owner"]


class BoardMoveForm(forms.Form):
    opportunity = forms.IntegerField(label=_("opportunity"))
    stage = forms.ChoiceField(label=_("stage"), choices=Stage.choices)
    lost_reason = forms.CharField(label=_("lost reason"), required=False, max_length=200)
