"""Auth endpoints: tokens for integrations and apps."""

from django.http import HttpRequest
from ninja import Router, Schema

from linli.accounts import services
from linli.core.api import ErrorOut
from linli.core.middleware import client_ip

router = Router()


class TokenIn(Schema):
    username: str
    password: str
    name: str = "api"


class TokenOut(Schema):
    token: str


@router.post("/token", auth=None, response={200: TokenOut, 400: ErrorOut, 401: ErrorOut})
def issue_token(request: HttpRequest, body: TokenIn):
    """Exchange a staff username and password for a bearer token (lockout rules apply)."""
    user = services.password_login(username=body.username, password=body.password, ip=client_ip(request))
    _token, raw = services.token_issue(user=user, name=body.name)
    return {"token": raw}
