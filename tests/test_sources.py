"""Sources configuration: valid files load, bad ones fail with file, line and field named."""

from __future__ import annotations

from pathlib import Path

import pytest

from flows.sources import ConfigError, load_sources

GOOD = """\
[[sites]]
name = "one"
base_url = "http://127.0.0.1:9/"
start_urls = ["http://127.0.0.1:9/a.html"]

[[sites.listings]]
url = "http://127.0.0.1:9/list_{page}.html"
link_selector = "ul.news a"
pages = 3

[[sites]]
name = "two"
base_url = "http://127.0.0.2:9/"
allow = ["/news/\\\\d+\\\\.html$"]
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "sources.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_good_file_loads(tmp_path: Path) -> None:
    sources = load_sources(write(tmp_path, GOOD))
    assert [s.name for s in sources.sites] == ["one", "two"]
    assert sources.sites[0].listings[0].pages == 3
    assert sources.sites[1].allows("http://127.0.0.2:9/news/12.html")
    assert not sources.sites[1].allows("http://127.0.0.2:9/about.html")
    assert not sources.sites[1].allows("http://127.0.0.3:9/news/12.html")


def test_bad_field_names_file_line_and_field(tmp_path: Path) -> None:
    path = write(tmp_path, GOOD.replace('base_url = "http://127.0.0.2:9/"', 'base_url = "ftp://x"'))
    with pytest.raises(ConfigError) as exc:
        load_sources(path)
    message = str(exc.value)
    assert message.startswith(f"{path}:13:")
    assert "sites.1.base_url" in message
    assert "\n" not in message


def test_unknown_key_is_rejected(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"sites\.0\.start_url"):
        load_sources(write(tmp_path, GOOD.replace("start_urls", "start_url")))


def test_invalid_toml_and_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="invalid TOML"):
        load_sources(write(tmp_path, "[[sites]\nname="))
    with pytest.raises(ConfigError, match="not found"):
        load_sources(tmp_path / "nope.toml")


def test_select_unknown_site(tmp_path: Path) -> None:
    sources = load_sources(write(tmp_path, GOOD))
    assert [s.name for s in sources.select(["two"])] == ["two"]
    with pytest.raises(ConfigError, match="unknown site three"):
        sources.select(["three"])


def test_site_host_is_normalised_like_the_fetcher() -> None:
    """Politeness rules and robots.txt are keyed by host; a configured base URL with upper case, a
    default port or a Unicode name must key the same host as the URLs fetched from it."""
    from flows.sources import Site
    from parsers.hosts import host_key as host_of

    site = Site(name="cn", base_url="http://中国.Example.COM:80/news/")
    assert site.host == host_of("http://xn--fiqs8s.example.com/a.html") == "xn--fiqs8s.example.com"
    assert site.allows("http://XN--FIQS8S.example.com/a.html")
    assert not site.allows("http://example.com/a.html") and not site.allows("http://[::1/a")
    with pytest.raises(ValueError, match="not a valid URL"):
        Site(name="bad", base_url="http://example.com:abc/")
