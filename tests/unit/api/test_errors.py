"""Every answer of the app is JSON with a documented status: refused parameters, unknown routes, the OpenAPI document."""

from __future__ import annotations

import logging
from collections.abc import Iterator

import pytest
from airflow.api_fastapi.app import get_auth_manager
from airflow.api_fastapi.auth.managers.simple.user import SimpleAuthManagerUser
from fastapi.testclient import TestClient
from http_trigger import jobs_service
from http_trigger.actions import ACTIONS
from http_trigger.api.app import create_app
from http_trigger.api.errors import UNEXPECTED_MESSAGE
from http_trigger.jobs.model import GROUP_MAX_LEN
from http_trigger.post_processing import POST_PROCESSING
from sqlalchemy.exc import ProgrammingError

from ..jobs_support import EC2, fail_with

RUN_ID_PATTERN = "^[^\\x00-\\x1f\\x7f]+$"


@pytest.fixture
def client(airflow_db, jobs_folder) -> Iterator[TestClient]:
    with TestClient(create_app(), base_url="http://trigger.example", raise_server_exceptions=False) as test_client:
        token = get_auth_manager().generate_jwt(SimpleAuthManagerUser(username="admin", role="admin"))
        test_client.headers["Authorization"] = f"Bearer {token}"
        yield test_client


class TestParametersOutOfBounds:
    @pytest.mark.parametrize(
        ("path", "problem"),
        [
            ("/api/jobs?offset=100000000000000000000", "query.offset: Input should be less than or equal to 2147483647"),
            ("/api/jobs?offset=-1", "query.offset: Input should be greater than or equal to 0"),
            ("/api/jobs?limit=1001", "query.limit: Input should be less than or equal to 1000"),
            ("/api/jobs/1/runs?offset=9223372036854775808", "query.offset: Input should be less than or equal to 2147483647"),
            ("/api/jobs/1/runs?limit=0", "query.limit: Input should be greater than or equal to 1"),
            ("/api/jobs/99999999999", "path.job_id: Input should be less than or equal to 2147483647"),
            ("/api/jobs/0", "path.job_id: Input should be greater than or equal to 1"),
            ("/api/jobs/1/runs/a%00b", f"path.dag_run_id: String should match pattern '{RUN_ID_PATTERN}'"),
            ("/api/jobs/1/runs/" + "r" * 251, "path.dag_run_id: String should have at most 250 characters"),
        ],
    )
    def test_answer_422_naming_the_parameter(self, client, path, problem):
        response = client.get(path)

        assert response.status_code == 422
        assert response.json()["message"] == f"The request is invalid: {problem}"

    def test_the_422_places_each_problem_and_echoes_no_input(self, client):
        response = client.post("/api/jobs", json={"name": "", "action": {**EC2, "colour": "x" * 1000}})

        assert response.status_code == 422
        assert response.json() == {
            "message": (
                "The request is invalid: body.name: Enter a name; "
                "body.action.colour: Remove colour: there is no such setting"
            ),
            "detail": [
                {"loc": ["body", "name"], "msg": "Enter a name", "type": "string_too_short"},
                {
                    "loc": ["body", "action", "colour"],
                    "msg": "Remove colour: there is no such setting",
                    "type": "extra_forbidden",
                },
            ],
        }

    def test_a_body_that_is_not_json_is_a_422_naming_where(self, client):
        response = client.post("/api/jobs", content=b'{"name": ', headers={"Content-Type": "application/json"})

        assert response.status_code == 422
        assert response.json()["message"] == "The request is invalid: body.9: JSON decode error"

    def test_a_url_id_that_cannot_be_one_is_the_trigger_404(self, client):
        response = client.post("/trigger/a%00b", headers={"Authorization": "CAAuth token"})

        assert (response.status_code, response.json()) == (404, {"message": "No job matches this URL and access token"})


class TestUnknownRoutes:
    def test_an_unknown_route_is_a_json_404(self, client):
        response = client.get("/api/nothing-here")

        assert (response.status_code, response.json()) == (
            404,
            {"message": "No route matches /api/nothing-here"},
        )

    def test_a_method_a_route_does_not_take_is_a_json_405(self, client):
        response = client.delete("/api/jobs")

        assert response.status_code == 405
        assert response.headers["Allow"] == "GET, POST"
        assert response.json() == {"message": "DELETE is not allowed on /api/jobs; allowed: GET, POST"}


class TestServerFaults:
    def test_an_unexpected_error_is_a_json_500(self, client, monkeypatch):
        monkeypatch.setattr(jobs_service, "find_jobs", fail_with(RuntimeError("disk on fire")))

        response = client.get("/api/jobs")

        assert (response.status_code, response.json()) == (500, {"message": UNEXPECTED_MESSAGE})

    def test_a_database_error_that_is_no_outage_is_a_json_500_named_in_the_log(self, client, monkeypatch, caplog):
        statement_error = ProgrammingError("SELECT secret", {"url_id": "x"}, Exception("syntax error at end"))
        monkeypatch.setattr(jobs_service, "find_jobs", fail_with(statement_error))

        with caplog.at_level(logging.ERROR, logger="http_trigger.api.errors"):
            response = client.get("/api/jobs")

        assert (response.status_code, response.json()) == (500, {"message": UNEXPECTED_MESSAGE})
        assert caplog.messages == ["GET /api/jobs answered 500: ProgrammingError: syntax error at end"]


class TestOpenApiDocument:
    def test_every_operation_documents_its_errors_with_their_json_shape(self):
        document = create_app().openapi()

        for path, operations in document["paths"].items():
            for method, operation in operations.items():
                errors = {code: answer for code, answer in operation["responses"].items() if code >= "400"}
                assert errors, f"{method.upper()} {path} documents no error"
                for code, answer in errors.items():
                    if path == "/health":
                        continue  # its 503 is the health report itself
                    assert answer["content"]["application/json"]["schema"], f"{method.upper()} {path} {code}"
                    if code in ("429", "503"):
                        assert answer["headers"]["Retry-After"]["required"] is True, f"{method.upper()} {path}"

    def test_the_trigger_documents_its_back_pressure(self):
        responses = create_app().openapi()["paths"]["/trigger/{url_id}"]["post"]["responses"]

        assert responses["429"]["content"]["application/json"]["schema"] == {
            "$ref": "#/components/schemas/ErrorResponse"
        }
        assert responses["429"]["description"].startswith("The job's rate limit is reached")

    def test_trigger_paths_document_airflows_own_404_too(self):
        """A URL id holding a line break misses the plugin's mount, and Airflow answers its own 404."""
        paths = create_app().openapi()["paths"]

        for path, method in (("/trigger/{url_id}", "post"), ("/trigger/{url_id}/runs/{dag_run_id}", "get")):
            schema = paths[path][method]["responses"]["404"]["content"]["application/json"]["schema"]
            assert schema["anyOf"] == [
                {"$ref": "#/components/schemas/ErrorResponse"},
                {"$ref": "#/components/schemas/HTTPExceptionResponse"},
            ], path

    def test_job_bodies_list_the_catalogues_and_validate_takes_one(self):
        document = create_app().openapi()
        schemas = document["components"]["schemas"]

        assert schemas["ActionSpec"]["properties"]["type"]["enum"] == list(ACTIONS)
        assert schemas["PostProcessingSpec"]["properties"]["type"]["enum"] == list(POST_PROCESSING)
        assert schemas["JobBody"]["properties"]["group"]["maxLength"] == GROUP_MAX_LEN
        for path, method in (("/api/jobs/validate", "post"), ("/api/jobs", "post"), ("/api/jobs/{job_id}", "put")):
            body = document["paths"][path][method]["requestBody"]
            assert body["required"] is True
            assert body["content"]["application/json"]["schema"]["$ref"] == "#/components/schemas/JobBody"

    def test_validating_answers_200_with_the_problems_a_create_answers_in_its_422(self):
        document = create_app().openapi()
        schemas = document["components"]["schemas"]
        answer = document["paths"]["/api/jobs/validate"]["post"]["responses"]["200"]["content"]["application/json"]

        assert answer["schema"] == {"$ref": "#/components/schemas/JobValidationResponse"}
        assert schemas["JobValidationResponse"]["properties"]["problems"]["items"] == {
            "$ref": "#/components/schemas/FieldErrorResponse"
        }
        assert schemas["ValidationErrorResponse"]["properties"]["detail"]["items"] == {
            "$ref": "#/components/schemas/FieldErrorResponse"
        }

    def test_the_health_report_is_documented_for_both_answers(self):
        responses = create_app().openapi()["paths"]["/health"]["get"]["responses"]

        for code in ("200", "503"):
            assert responses[code]["content"]["application/json"]["schema"] == {
                "$ref": "#/components/schemas/HealthResponse"
            }

    def test_the_shapes_are_the_plugins_and_airflows(self):
        schemas = create_app().openapi()["components"]["schemas"]

        assert schemas["ErrorResponse"]["required"] == ["message"]
        assert schemas["ValidationErrorResponse"]["required"] == ["message", "detail"]
        assert schemas["HTTPExceptionResponse"]["required"] == ["detail"]
