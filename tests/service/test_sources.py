"""The sources file: parsing, credential references, and what is refused."""

from __future__ import annotations

from pathlib import Path

import pytest

from connectors.slack import SlackConnector
from models.errors import ConfigError
from service.sources import build_connector, get_source, load_sources, source_connector

SLACK = '[[source]]\nname = "chat"\nkind = "slack"\n[source.settings]\n'


def write(tmp_path: Path, text: str, name: str = "sources.toml") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def test_env_and_file_references_resolve(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("T_SLACK", "xoxb-from-env")
    (tmp_path / "secrets").mkdir()
    (tmp_path / "secrets" / "cs").write_text("client-secret\n")
    path = write(
        tmp_path,
        SLACK + 'token = "${env:T_SLACK}"\nclient_secret = { file = "secrets/cs" }\n'
        'refresh_token = "${env:T_SLACK}"\nclient_id = "cid"\n',
    )
    connector, source = source_connector(path, "chat")
    assert isinstance(connector, SlackConnector)
    assert connector.config.token is not None
    assert connector.config.token.get_secret_value() == "xoxb-from-env"
    assert connector.config.client_secret is not None
    assert connector.config.client_secret.get_secret_value() == "client-secret"
    # the Source kept for the store holds the references, never the values
    assert source.settings["token"] == "${env:T_SLACK}" and source.uri == "slack://chat"


def test_yaml_sources(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("T_SLACK", "xoxb-1")
    path = write(
        tmp_path,
        "sources:\n  - name: chat\n    kind: slack\n    settings:\n      token: ${env:T_SLACK}\n",
        "sources.yaml",
    )
    assert set(load_sources(path)) == {"chat"}
    assert isinstance(source_connector(path, "chat")[0], SlackConnector)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (SLACK + 'token = "xoxb-literal"\n', "not in plain text"),
        (SLACK + 'token = "${env:T_UNSET_VARIABLE}"\n', "T_UNSET_VARIABLE is not set"),
        (SLACK + 'token = { file = "missing" }\n', "cannot read"),
        (SLACK + 'token = "${env:T_SLACK}"\npage_size = 0\n', "page_size"),
        (SLACK + 'token = "${env:T_SLACK}"\nbogus = 1\n', "bogus"),
        ('[[source]]\nname = "x"\nkind = "nope"\n', "unknown connector kind"),
        (SLACK + '[[source]]\nname = "chat"\nkind = "slack"\n', "two sources are named"),
        ("[[source]\n", "not valid"),
        ('title = "no sources"\n', "expected a list of sources"),
        ('[[source]]\nname = "bad name!"\nkind = "slack"\n', "name"),
    ],
    ids=[
        "literal-secret",
        "unset-env",
        "missing-file",
        "invalid-setting",
        "unknown-setting",
        "unknown-kind",
        "duplicate-name",
        "bad-toml",
        "no-list",
        "bad-name",
    ],
)
def test_invalid_sources_are_config_errors(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, text: str, message: str
) -> None:
    monkeypatch.setenv("T_SLACK", "xoxb-secret-value")
    monkeypatch.delenv("T_UNSET_VARIABLE", raising=False)
    path = write(tmp_path, text)
    with pytest.raises(ConfigError, match=message) as info:
        specs = load_sources(path)
        build_connector(next(iter(specs.values())), base_dir=tmp_path)
    assert "xoxb-secret-value" not in str(info.value) and "xoxb-literal" not in str(info.value)


def test_unknown_source_name_lists_the_defined_ones(tmp_path: Path) -> None:
    path = write(tmp_path, SLACK + 'token = "${env:X}"\n')
    with pytest.raises(ConfigError, match=r"no source named 'other' \(defined: chat\)"):
        get_source(path, "other")
