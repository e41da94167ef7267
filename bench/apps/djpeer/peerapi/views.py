# The Django peer, as in the team's shared harness; not type-checked or linted here.
from oauth2_provider.contrib.rest_framework import OAuth2Authentication
from rest_framework.authentication import TokenAuthentication
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView


def _me_body(request: Request) -> dict:
    return {
        "data": {"person_id": request.user.pk, "auth_method": "token"},
        "meta": {},
        "linked": {},
    }


class MeOAuth2(APIView):
    authentication_classes = [OAuth2Authentication]
    permission_classes = [IsAuthenticated]

    def get(self, request: Request) -> Response:
        return Response(_me_body(request))


class MeDrfToken(APIView):
    authentication_classes = [TokenAuthentication]
    permission_classes = [IsAuthenticated]

    def get(self, request: Request) -> Response:
        return Response(_me_body(request))
