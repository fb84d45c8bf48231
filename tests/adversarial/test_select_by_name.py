"""Selecting by name never guesses: a name two projects share, or a name no entry has, is
refused with a typed error, before any plan or request.

Names come from the account, typed by anyone (two projects called "Website Redesign" are
ordinary; each of the sandbox's project titles names two). A plan built from a shared
name would bill the other project too; an unknown name (a typo, another case, a missing
accent) would read as "nothing to bill for Acme". Issue 20, item 7.
"""

from __future__ import annotations

import pytest

import fbtime


@pytest.fixture(scope="module")
def named():
    with fbtime.Sandbox(entries=600, seed=1, rate_limit=None) as sb:
        client = sb.client(cache=False)
        df = fbtime.load_time_entries(client, team=True, progress=False)
        projects = fbtime.load_projects(client)
        df = df.fbtime.with_names(clients=fbtime.load_clients(client), projects=projects,
                                  team=fbtime.load_team(client))  # fmt: skip
        yield sb, df, projects


def shared_title(df, projects):
    """A project title two projects with entries here share, and their ids."""
    present = projects.loc[projects.index.isin(df["project_id"].dropna())]
    twice = present.groupby("name").filter(lambda g: len(g) > 1)
    title = twice["name"].iloc[0]
    return title, sorted(int(i) for i in twice.index[twice["name"] == title])


def test_a_name_two_projects_share_is_refused_listing_their_ids(named):
    sb, df, projects = named
    title, ids = shared_title(df, projects)
    assert len(ids) == 2
    before = sb.stats()
    with pytest.raises(fbtime.QueryError, match="is shared by 2 projects") as caught:
        df.fbtime.for_project(title)
    assert all(str(i) in str(caught.value) for i in ids)
    with pytest.raises(fbtime.QueryError, match="shared"):
        df.fbtime.for_project(title).fbtime.unbilled().fbtime.mark_billed()
    assert sb.stats() == before  # nothing was asked of the server


def test_an_id_selects_exactly_one_of_two_same_named_projects(named):
    _, df, projects = named
    title, ids = shared_title(df, projects)
    one = df.fbtime.for_project(ids[0])
    assert len(one) and set(one["project_id"]) == {ids[0]}
    assert set(one["project_name"]) == {title}


@pytest.mark.parametrize(
    ("method", "typed", "meant"),
    [
        ("for_client", "Acme Robotic", "Acme Robotics"),  # a letter short
        ("for_client", "acme robotics", "Acme Robotics"),  # another case
        ("for_client", "Societe Generale Cafe", "Société Générale Café"),  # no accents
        ("for_teammate", "Zoe Roy", "Zoë Roy"),
        ("for_teammate", "olivia tremblay", "Olivia Tremblay"),
        ("for_project", "Brand Refresh Project", "Brand Refresh"),
    ],
)
def test_a_name_no_entry_has_is_refused_naming_the_closest(named, method, typed, meant):
    sb, df, _ = named
    before = sb.stats()
    with pytest.raises(fbtime.QueryError, match=f"no .* named {typed!r}") as caught:
        getattr(df.fbtime, method)(typed)
    assert f"did you mean {meant!r}" in str(caught.value)
    assert sb.stats() == before


def test_a_name_like_nothing_here_says_how_many_names_there_are(named):
    _, df, _ = named
    with pytest.raises(fbtime.QueryError, match=r"no client named 'Zzyzx'.* client names"):
        df.fbtime.for_client("Zzyzx")


def test_exact_names_and_no_client_still_select(named):
    _, df, _ = named
    acme = df.fbtime.for_client("Acme Robotics")
    assert len(acme) and set(acme["client_name"]) == {"Acme Robotics"}
    both = df.fbtime.for_client("Acme Robotics", None)
    assert len(both) == len(acme) + int(df["client_id"].isna().sum())
    assert len(df.fbtime.for_teammate("Zoë Roy")) > 0
