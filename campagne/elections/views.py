"""The import page: upload a public file, follow its import, read its anomalies.

HQ sees the page and the imports; only an HQ admin uploads (HQ staff get 403 on POST).
Everyone else is outside its scope (404). The import runs as a background task
(``tasks.run_import_job``); the job page polls its progress with htmx every second until
the job is finished.
"""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render

from campagne.accounts.scopes import Scope, scope_for
from campagne.elections import actions
from campagne.elections.forms import ImportForm
from campagne.elections.models import ImportJob

RECENT_JOBS = 20
ANOMALIES_SHOWN = 200


def _hq_scope(request: HttpRequest) -> Scope:
    scope = scope_for(request.user)
    if not scope.is_hq:
        raise Http404("No such page.")
    return scope


@login_required
def imports(request: HttpRequest) -> HttpResponse:
    scope = _hq_scope(request)
    form = ImportForm()
    if request.method == "POST":
        scope.require(scope.is_admin, "Only an HQ admin imports files.")
        form = ImportForm(request.POST, request.FILES)
        if form.is_valid():
            job = actions.create_upload_job(
                user=request.user,
                kind=form.cleaned_data["kind"],
                upload=form.cleaned_data["file"],
                options=form.options(),
            )
            return redirect("elections:import_job", pk=job.pk)
    jobs = ImportJob.objects.select_related("created_by")[:RECENT_JOBS]
    return render(request, "elections/imports.html", {"form": form, "jobs": jobs})


@login_required
def import_job(request: HttpRequest, pk: int) -> HttpResponse:
    _hq_scope(request)
    job = get_object_or_404(ImportJob, pk=pk)
    context = {"job": job, "anomalies": job.anomalies[:ANOMALIES_SHOWN]}
    if getattr(request, "htmx", None):
        return render(request, "elections/import_job.html#progress", context)
    return render(request, "elections/import_job.html", context)
