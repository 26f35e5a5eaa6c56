"""URL resolution: every endpoint shape Vertex documents, and the errors for bad input."""

from __future__ import annotations

import pytest

from vertex_openai._constants import PROJECT_PLACEHOLDER
from vertex_openai._endpoint import (
    VertexEndpoint,
    host_for_location,
    is_trusted_host,
    resolve_location,
)
from vertex_openai._errors import VertexConfigError


def resolve(**kwargs: object) -> VertexEndpoint:
    kwargs.setdefault("environ", {})
    return VertexEndpoint.resolve(**kwargs)  # type: ignore[arg-type]


def test_gemini_on_global_uses_host_without_region_prefix() -> None:
    endpoint = resolve(project="my-proj", location="global")
    assert endpoint.base_url == (
        "https://aiplatform.googleapis.com/v1/projects/my-proj/locations/global/endpoints/openapi"
    )


def test_default_location_is_global() -> None:
    assert resolve(project="my-proj").location == "global"


def test_regional_host() -> None:
    endpoint = resolve(project="my-proj", location="us-central1")
    assert endpoint.base_url == (
        "https://us-central1-aiplatform.googleapis.com/v1/projects/my-proj/"
        "locations/us-central1/endpoints/openapi"
    )


@pytest.mark.parametrize(
    ("location", "host"),
    [
        ("global", "aiplatform.googleapis.com"),
        ("us", "aiplatform.us.rep.googleapis.com"),
        ("eu", "aiplatform.eu.rep.googleapis.com"),
        ("europe-west4", "europe-west4-aiplatform.googleapis.com"),
    ],
)
def test_host_for_location(location: str, host: str) -> None:
    assert host_for_location(location) == host


@pytest.mark.parametrize("location", ["us", "eu"])
def test_multi_region_host_keeps_the_location_in_the_path(location: str) -> None:
    # Vertex serves us/eu at aiplatform.{us,eu}.rep.googleapis.com, not us-aiplatform...
    endpoint = resolve(project="p1", location=location)
    assert endpoint.base_url == (
        f"https://aiplatform.{location}.rep.googleapis.com/v1/projects/p1/"
        f"locations/{location}/endpoints/openapi"
    )


def test_host_for_location_refuses_a_malformed_location() -> None:
    with pytest.raises(VertexConfigError, match="Malformed location"):
        host_for_location("us-central1.example.com")


def test_v1beta1() -> None:
    endpoint = resolve(project="p1", location="europe-west4", api_version="v1beta1")
    assert "/v1beta1/projects/p1/locations/europe-west4/endpoints/openapi" in endpoint.base_url


@pytest.mark.parametrize("endpoint_id", ["6714120476014149632", "mg-endpoint-3f2a-11ef-9a0b"])
def test_self_deployed_endpoint(endpoint_id: str) -> None:
    endpoint = resolve(project="p1", location="us-central1", endpoint_id=endpoint_id)
    assert endpoint.is_self_deployed
    assert endpoint.base_url.endswith(f"/locations/us-central1/endpoints/{endpoint_id}")


def test_dedicated_endpoint_explicit() -> None:
    dns = "2224094319688548252.europe-west4-841529064496.prediction.vertexai.goog"
    endpoint = resolve(
        project="p1",
        location="europe-west4",
        endpoint_id="2224094319688548252",
        dedicated_endpoint_dns=dns,
    )
    assert endpoint.base_url == (
        f"https://{dns}/v1/projects/p1/locations/europe-west4/endpoints/2224094319688548252"
    )


def test_api_endpoint_override_keeps_the_path() -> None:
    endpoint = resolve(project="p1", location="us-east5", api_endpoint="http://127.0.0.1:8123")
    assert endpoint.base_url == (
        "http://127.0.0.1:8123/v1/projects/p1/locations/us-east5/endpoints/openapi"
    )
    psc = resolve(project="p1", location="us-east5", api_endpoint="vertex.psc.example.internal")
    assert psc.base_url.startswith("https://vertex.psc.example.internal/v1/projects/p1/")


def test_base_url_wins() -> None:
    endpoint = resolve(
        project="p1", base_url="https://proxy.example.com/vertex/", location="us-central1"
    )
    assert endpoint.base_url == "https://proxy.example.com/vertex"


def test_env_vars_in_google_order() -> None:
    env = {
        "GCLOUD_PROJECT": "from-gcloud",
        "GOOGLE_CLOUD_PROJECT": "from-google",
        "GOOGLE_CLOUD_REGION": "asia-northeast1",
        "CLOUD_ML_REGION": "us-east1",
    }
    endpoint = resolve(environ=env)
    assert endpoint.project == "from-google"
    assert endpoint.project_source == "environment variable GOOGLE_CLOUD_PROJECT"
    assert endpoint.location == "asia-northeast1"
    assert resolve(project="arg", location="us-west1", environ=env).project == "arg"


def test_missing_project_defers_to_credentials() -> None:
    endpoint = resolve(location="us-central1")
    assert endpoint.project is None
    assert PROJECT_PLACEHOLDER in endpoint.base_url


@pytest.mark.parametrize(
    ("location", "fix"),
    [
        ("US-CENTRAL1", "lower case"),
        ("us-central1-a", "use its region 'us-central1'"),
        ("us-central1-aiplatform.googleapis.com", "api_endpoint"),
        ("us central", "such as 'us-central1'"),
    ],
)
def test_malformed_location_says_what_is_wrong(location: str, fix: str) -> None:
    with pytest.raises(VertexConfigError, match="Malformed location") as info:
        resolve_location(location, {})
    assert fix in str(info.value)


@pytest.mark.parametrize(
    ("kwargs", "needle"),
    [
        ({"endpoint_id": "projects/p/locations/l/endpoints/1"}, "last segment"),
        ({"endpoint_id": "my endpoint"}, "Malformed endpoint_id"),
        ({"api_version": "v2"}, "api_version must be one of v1, v1beta1"),
        ({"api_endpoint": "https://host/path"}, "only the host"),
        ({"project": "bad/project"}, "Malformed Google Cloud project"),
    ],
)
def test_bad_input(kwargs: dict[str, str], needle: str) -> None:
    with pytest.raises(VertexConfigError, match=needle):
        resolve(**kwargs)


def test_trusted_hosts() -> None:
    assert is_trusted_host("us-central1-aiplatform.googleapis.com")
    assert is_trusted_host("1.us-central1-99.prediction.vertexai.goog")
    assert not is_trusted_host("evil.example.com")
    assert not is_trusted_host("googleapis.com.evil.example")
    assert is_trusted_host("proxy.internal", ("proxy.internal",))
    assert is_trusted_host("localhost", ("127.0.0.1",))
    assert not is_trusted_host("localhost", ("proxy.internal",))


def test_gcloud_api_endpoint_override_env() -> None:
    env = {
        "GOOGLE_CLOUD_PROJECT": "p1",
        "CLOUDSDK_API_ENDPOINT_OVERRIDES_AIPLATFORM": "http://127.0.0.1:9999/",
    }
    endpoint = resolve(environ=env)
    assert (
        endpoint.base_url
        == "http://127.0.0.1:9999/v1/projects/p1/locations/global/endpoints/openapi"
    )
    assert (
        resolve(environ=env, api_endpoint="https://psc.internal").api_endpoint
        == "https://psc.internal"
    )
