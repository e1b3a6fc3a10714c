"""The one rendering of `[dag_processor] dag_bundle_config_list` per DagDelivery."""

from __future__ import annotations

import json

import pytest

from deploy.dag_delivery import (
    CLASSPATHS,
    CONFIG_ENV,
    DELIVERIES,
    DeliveryError,
    GitSource,
    bundle_config_json,
    bundle_config_list,
    without_credentials,
)


def test_image_is_airflows_default_dags_folder_bundle():
    assert bundle_config_list("image") == [
        {
            "name": "dags-folder",
            "classpath": "airflow.dag_processing.bundles.local.LocalDagBundle",
            "kwargs": {},
        }
    ]


def test_git_bundle_names_repository_ref_subdir_refresh_and_connection():
    source = GitSource(
        repo_url="https://git.example.com/data/pipelines.git",
        tracking_ref="v1.4.0",
        refresh_interval=120,
        git_conn_id="git_default",
    )
    assert json.loads(bundle_config_json("git-bundle", git=source)) == [
        {
            "name": "dags-git",
            "classpath": "airflow.providers.git.bundles.git.GitDagBundle",
            "kwargs": {
                "repo_url": "https://git.example.com/data/pipelines.git",
                "tracking_ref": "v1.4.0",
                "subdir": "airflow/dags",
                "refresh_interval": 120,
                "git_conn_id": "git_default",
            },
        }
    ]


def test_a_public_or_local_repository_needs_no_connection():
    (bundle,) = bundle_config_list("git-bundle", git=GitSource("file:///srv/dags.git", "main"))
    assert "git_conn_id" not in bundle["kwargs"]


@pytest.mark.parametrize(
    ("source", "said"),
    [
        (
            dict(repo_url="https://ci:ghp_secret@github.com/o/r.git", tracking_ref="main"),
            "carries credentials: put the token or key in the Airflow connection",
        ),
        (dict(repo_url="https://github.com/o/r.git", tracking_ref="main; rm"), "tracking_ref"),
        (dict(repo_url="https://github.com/o/r.git", tracking_ref="a..b"), "tracking_ref"),
        (dict(repo_url="", tracking_ref="main"), "repo_url is empty"),
        (dict(repo_url="/r", tracking_ref="main", subdir="../etc"), "inside the repository"),
        (dict(repo_url="/r", tracking_ref="main", refresh_interval=-1), "refresh_interval"),
    ],
)
def test_bad_git_sources_are_refused_naming_the_key(source, said):
    with pytest.raises(DeliveryError, match="git-bundle: ") as raised:
        GitSource(**source)
    assert said in str(raised.value)
    assert "ghp_secret" not in str(raised.value)


def test_unknown_delivery_and_missing_inputs_are_refused():
    with pytest.raises(DeliveryError, match="is not one of: image, s3-bundle, git-bundle"):
        bundle_config_list("git")
    with pytest.raises(DeliveryError, match="needs a repository"):
        bundle_config_list("git-bundle")
    with pytest.raises(DeliveryError, match="stage bucket"):
        bundle_config_list("s3-bundle")


def test_the_git_provider_has_the_bundle_class_and_kwargs_rendered():
    """The classpaths import, and GitDagBundle accepts every kwarg we render (provider pinned in
    requirements.txt)."""
    import importlib
    import inspect

    for delivery in DELIVERIES:
        module, _, name = CLASSPATHS[delivery].rpartition(".")
        assert hasattr(importlib.import_module(module), name), CLASSPATHS[delivery]
    from airflow.providers.git.bundles.git import GitDagBundle

    (bundle,) = bundle_config_list("git-bundle", git=GitSource("/r", "main", git_conn_id="g"))
    accepted = set(inspect.signature(GitDagBundle.__init__).parameters)
    accepted |= set(inspect.signature(GitDagBundle.__mro__[1].__init__).parameters)
    assert set(bundle["kwargs"]) <= accepted
    assert CONFIG_ENV == "AIRFLOW__DAG_PROCESSOR__DAG_BUNDLE_CONFIG_LIST"


@pytest.mark.parametrize(
    ("text", "shown"),
    [
        (
            "https://ci:ghp_x@git.example.com:8443/o/r.git",
            "https://<credentials>@git.example.com:8443/o/r.git",
        ),
        (
            "ssh://git:pw@host/r.git and http://a:b@c/",
            "ssh://<credentials>@host/r.git and http://<credentials>@c/",
        ),
        # a user name alone is no secret, nor is scp-like git@host:path
        ("ssh://git@host/r.git", "ssh://git@host/r.git"),
        ("git@github.com:o/r.git", "git@github.com:o/r.git"),
    ],
)
def test_a_url_is_quoted_without_its_password(text, shown):
    assert without_credentials(text) == shown
