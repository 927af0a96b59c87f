"""Console landing page: the estates in the user's scope with their counts."""

from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render

from linli.console.selectors import estate_overview
from linli.orgs.selectors import actor_for_user


@login_required
def home(request):
    if request.user.kind != "staff":
        return redirect("h5:home")
    actor = actor_for_user(request.user)
    rows = estate_overview(actor=actor)
    totals = {k: sum(r[k] for r in rows) for k in ("buildings", "rooms", "persons", "households", "vehicles")}
    return render(request, "console/home.html", {"rows": rows, "totals": totals, "actor": actor})
