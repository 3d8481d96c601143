"""HTML pages of mass nucleic-acid testing (全员核酸检测) and routine testing (常态化检测):
the rounds, a round's figures, coverage and sampling points, the lists a community worker
acts on, and the compliance of the key populations.

Each page names its permission and passes the caller's jurisdiction to the service; a round
outside it is answered like one that does not exist. People are always shown masked: the
full lists are the audited Excel exports of the API. Read models come from
``testing.views``; the handlers here parse, call and render.

Page handlers own the transaction (``SessionDep`` commits when they return), so a handler
that shows an error rolls back first (``web.forms.attempt``).
"""

from fastapi import APIRouter

from fangkong.testing.pages import lab, one_round, person_lists, rounds, routine

router = APIRouter(include_in_schema=False)
for part in (rounds, one_round, person_lists, routine, lab):
    router.include_router(part.router)
