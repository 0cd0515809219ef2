from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from campagne.accounts.scopes import scope_for


@login_required
def person_list(request: HttpRequest) -> HttpResponse:
    scope = scope_for(request.user)
    people = scope.people().search(request.GET.get("q", ""))[:50]
    return render(request, "people/list.html", {"people": people})
