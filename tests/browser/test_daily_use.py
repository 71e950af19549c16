"""Daily use through Chromium (issue 18): one portfolio across two scorecards read by tier, the
filtered drill-down cards, narrow screens, dark mode contrast, search and saved views. Every
page is photographed light and dark, wide and narrow, into artifacts/."""

import re
from collections.abc import Iterator
from contextlib import contextmanager
from decimal import Decimal
from pathlib import Path

import pytest
from django.core.cache import cache
from playwright.sync_api import Browser, BrowserContext, Page, expect

from accounts.models import Contact
from tests.accounts.factories import AccountFactory, ContactFactory, UserFactory
from tests.api.test_accounts import give_current_score
from tests.browser.conftest import screenshot
from tests.scorecards.factories import BandFactory, ScorecardFactory

pytestmark = [pytest.mark.browser, pytest.mark.usefixtures("migrated_data")]

PASSWORD = "correct-horse-battery"
AXE = Path(__file__).resolve().parents[2] / "node_modules" / "axe-core" / "axe.min.js"
WIDE = {"width": 1280, "height": 900}
NARROW = {"width": 390, "height": 844}


@pytest.fixture(autouse=True)
def empty_cache():
    cache.clear()


@pytest.fixture
def two_scorecards():
    """Seven accounts on two scorecards. Red/Yellow/Green (the default) and Grades (F 0, D 40,
    C 55, B 70, A 85; F at risk, A healthy, the rest watch).

    Dana (CSM): Acme Corp Green, Birch Labs Red, Cobalt Inc A, Dune Co F, Elm Ltd C.
    Fox (CSM): Fir Group Yellow, Gale Inc D.
    Tiers: healthy Acme + Cobalt; watch Elm, Fir, Gale; at risk Birch + Dune."""
    dana = UserFactory(username="dana", first_name="Dana", last_name="Scully", role="CSM")
    fox = UserFactory(username="fox", first_name="Fox", last_name="Mulder", role="CSM")
    UserFactory(username="lee", first_name="Lee", role="CS Leader")
    grades = ScorecardFactory(name="Grades")
    for label, minimum, tier, color in (
        ("F", 0, "at_risk", "#8e44ad"),
        ("D", 40, "watch", "#d35400"),
        ("C", 55, "watch", "#f39c12"),
        ("B", 70, "watch", "#16a085"),
        ("A", 85, "healthy", "#2471a3"),
    ):
        BandFactory(scorecard=grades, label=label, min_score=minimum, tier=tier, color=color)
    accounts = {}
    for name, owner, arr, overall, band, scorecard in (
        ("Acme Corp", dana, 240000, "80.00", "Green", None),
        ("Birch Labs", dana, 1200000, "30.00", "Red", None),
        ("Cobalt Inc", dana, 50000, "91.25", "A", grades),
        ("Dune Co", dana, 30000, "12.50", "F", grades),
        ("Elm Ltd", dana, 70000, "60.00", "C", grades),
        ("Fir Group", fox, 90000, "60.00", "Yellow", None),
        ("Gale Inc", fox, 40000, "45.00", "D", grades),
    ):
        account = AccountFactory(name=name, owner=owner, arr=arr)
        fields = {"scorecard": scorecard} if scorecard else {}
        give_current_score(account, Decimal(overall), band, **fields)
        accounts[name] = account
    ContactFactory(
        account=accounts["Acme Corp"],
        name="Ada Sponsor",
        email="ada@acme.example",
        role=Contact.Role.EXECUTIVE_SPONSOR,
    )
    ContactFactory(account=accounts["Fir Group"], name="Ada Lovelace", email="ada@fir.example")
    return {"dana": dana, "fox": fox, "accounts": accounts}


@contextmanager
def browser_page(
    browser: Browser, base_url: str, *, viewport=WIDE, color_scheme="light"
) -> Iterator[Page]:
    """A page in its own context (size, light or dark), failing on any console error."""
    context: BrowserContext = browser.new_context(
        base_url=base_url, viewport=viewport, color_scheme=color_scheme
    )
    page = context.new_page()
    errors: list[str] = []
    page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    try:
        yield page
    finally:
        context.close()
    assert errors == [], f"console errors: {errors}"


def log_in(page: Page, username: str) -> None:
    page.goto("/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", PASSWORD)
    page.click("button[type=submit]")


def account_names(page: Page):
    return page.locator("table.accounts tbody th[scope=row] a")


def tier_counts(page: Page) -> dict[str, str]:
    cards = page.locator("[data-testid=tier-card] a[data-tier]")
    return {
        cards.nth(i).get_attribute("data-tier"): cards.nth(i).locator(".tier-count").inner_text()
        for i in range(cards.count())
    }


def page_scroll_width(page: Page) -> int:
    return page.evaluate("document.scrollingElement.scrollWidth")


def test_leader_reads_two_scorecards_as_one_portfolio_and_drills_into_a_csm(
    page: Page, two_scorecards
):
    log_in(page, "lee")
    expect(page).to_have_url("/portfolio/")
    tiers = page.get_by_test_id("tier-table")
    expect(tiers.locator("tbody tr")).to_have_count(3)  # every account is scored
    expect(tiers.locator("tr[data-tier=healthy]")).to_contain_text("Healthy 2 ")
    expect(tiers.locator("tr[data-tier=watch]")).to_contain_text("Watch 3 ")
    expect(tiers.locator("tr[data-tier=at_risk]")).to_contain_text("At risk 2 ")
    # Birch Labs (Red) 1,200,000 + Dune Co (F) 30,000.
    expect(page.get_by_test_id("arr-at-risk")).to_have_text("USD 1,230,000")
    expect(page.get_by_test_id("total-accounts")).to_have_text("7")
    # No band of either scorecard is listed on its own: the page counts tiers.
    expect(tiers).not_to_contain_text("Green")
    expect(tiers).not_to_contain_text("F")

    page.get_by_role("region", name="By CSM").get_by_role("link", name="Dana Scully").click()
    dana = two_scorecards["dana"]
    expect(page).to_have_url(re.compile(rf"/dashboard/\?owner={dana.pk}$"))
    expect(account_names(page)).to_have_count(5)
    # The cards count Dana's five accounts, not the portfolio's seven.
    assert tier_counts(page) == {"healthy": "2", "watch": "1", "at_risk": "2"}
    expect(page.get_by_test_id("summary-total")).to_have_text(
        "5 active accounts matching the filters"
    )
    # Each account keeps its own scorecard's band.
    expect(page.locator("tr", has_text="Cobalt Inc").locator(".band")).to_have_text("A")
    expect(page.locator("tr", has_text="Birch Labs").locator(".band")).to_have_text("Red")
    expect(page.locator("tr", has_text="Birch Labs")).to_contain_text("USD 1,200,000")

    # Another filter through htmx: the cards follow it too.
    page.get_by_role("group", name="Tier").get_by_label("At risk").check()
    expect(account_names(page)).to_have_text(["Dune Co", "Birch Labs"])
    expect(page.get_by_test_id("summary-total")).to_have_text(
        "2 active accounts matching the filters"
    )
    assert tier_counts(page) == {"healthy": "0", "watch": "0", "at_risk": "2"}


def test_every_page_light_and_dark_wide_and_narrow(browser: Browser, live_server, two_scorecards):
    """Screenshots of each page in four looks; none scrolls sideways at 390 px or 1280 px."""
    acme = two_scorecards["accounts"]["Acme Corp"]
    pages = {
        "dana": {
            "dashboard": "/dashboard/",
            "account": f"/accounts/{acme.pk}/",
            "search": "/search/?q=ada",
        },
        "lee": {"portfolio": "/portfolio/"},
    }
    widths = {}
    for scheme in ("light", "dark"):
        for size, viewport in (("wide", WIDE), ("narrow", NARROW)):
            with browser_page(
                browser, live_server.url, viewport=viewport, color_scheme=scheme
            ) as page:
                page.goto("/login/")
                screenshot(page, f"login-{scheme}-{size}")
                widths[("login", scheme, size)] = page_scroll_width(page)
                for username, paths in pages.items():
                    page.context.clear_cookies()
                    log_in(page, username)
                    for name, path in paths.items():
                        page.goto(path)
                        expect(page.locator("main h1")).to_be_visible()
                        screenshot(page, f"{name}-{scheme}-{size}")
                        widths[(name, scheme, size)] = page_scroll_width(page)
    assert {
        key: width for key, width in widths.items() if width > {"wide": 1280, "narrow": 390}[key[2]]
    } == {}


def test_narrow_dashboard_keeps_name_band_score_and_risks_in_view(
    browser: Browser, live_server, two_scorecards
):
    with browser_page(browser, live_server.url, viewport=NARROW) as page:
        log_in(page, "dana")
        expect(page).to_have_url("/dashboard/")
        assert page_scroll_width(page) <= NARROW["width"]
        row = page.locator("table.accounts tbody tr", has_text="Birch Labs")
        for cell in (
            row.locator("th[scope=row] a"),
            row.locator(".score"),
            row.locator(".band"),
            row.locator(".col-risks"),
        ):
            box = cell.bounding_box()
            assert box is not None and box["x"] >= 0
            assert box["x"] + box["width"] <= NARROW["width"], cell
        # The rest of the table scrolls inside its card.
        scroller = page.locator("#account-table .table-scroll")
        assert scroller.evaluate("el => el.scrollWidth > el.clientWidth") is True
        screenshot(page, "dashboard-narrow-table")


@pytest.mark.parametrize("scheme", ["dark", "light"])
def test_dashboard_has_no_text_below_wcag_aa_contrast(
    browser: Browser, live_server, two_scorecards, scheme
):
    assert AXE.exists(), "axe-core is a devDependency in package.json: run scripts/setup"
    with browser_page(browser, live_server.url, color_scheme=scheme) as page:
        log_in(page, "lee")
        page.goto("/dashboard/")
        expect(account_names(page)).to_have_count(7)
        assert page.evaluate("matchMedia('(prefers-color-scheme: dark)').matches") is (
            scheme == "dark"
        )
        # Evaluated through the DevTools protocol, which the page's CSP does not govern (a
        # script tag with the file's text would be inline script, which the CSP refuses).
        page.evaluate(AXE.read_text())
        result = page.evaluate(
            "axe.run(document, {runOnly: {type: 'rule', values: ['color-contrast']}})"
        )
        failing = [
            (node["target"], node["any"][0]["message"] if node["any"] else "")
            for violation in result["violations"]
            for node in violation["nodes"]
        ]
        assert failing == []
        assert len(result["passes"]) == 1  # the rule ran and found text to check
        screenshot(page, f"dashboard-contrast-{scheme}")


def test_csm_search_never_finds_another_csms_account(page: Page, two_scorecards):
    log_in(page, "dana")
    search = page.get_by_role("searchbox", name="Search accounts and contacts")
    search.fill("ada")
    search.press("Enter")
    expect(page).to_have_url("/search/?q=ada")
    expect(page.get_by_test_id("contact-results").locator("li")).to_have_text(
        ["Ada Sponsor ada@acme.example · Acme Corp"]
    )
    screenshot(page, "search")

    # Fox's account and contact, by name, CRM id or email: nothing.
    fir = two_scorecards["accounts"]["Fir Group"]
    for query in ("Fir Group", fir.external_id, "ada@fir"):
        page.goto(f"/search/?q={query}")
        expect(page.get_by_test_id("search-results")).not_to_contain_text("Fir")
        expect(page.get_by_test_id("search-results")).not_to_contain_text("Lovelace")

    # Her own account by CRM id.
    acme = two_scorecards["accounts"]["Acme Corp"]
    page.goto(f"/search/?q={acme.external_id}")
    expect(page.get_by_test_id("account-results").locator("li a")).to_have_text(["Acme Corp"])
    page.get_by_test_id("account-results").get_by_role("link", name="Acme Corp").click()
    expect(page.locator("h1")).to_have_text("Acme Corp")


def test_leader_search_finds_every_csms_contacts(page: Page, two_scorecards):
    log_in(page, "lee")
    page.goto("/search/?q=ada")
    expect(page.get_by_test_id("contact-results").locator("li")).to_have_count(2)


def test_csm_saves_a_view_and_finds_it_again_in_one_click(page: Page, two_scorecards):
    log_in(page, "dana")
    expect(page).to_have_url("/dashboard/")
    page.get_by_role("group", name="Tier").get_by_label("At risk").check()
    expect(page).to_have_url(re.compile(r"tier=at_risk"))
    expect(account_names(page)).to_have_text(["Dune Co", "Birch Labs"])
    page.get_by_label("Save these filters as").fill("At risk first")
    page.get_by_role("button", name="Save view").click()
    expect(page.locator(".messages")).to_contain_text("Saved the view “At risk first”.")

    page.goto("/dashboard/")
    expect(account_names(page)).to_have_count(5)
    page.get_by_test_id("saved-views").get_by_role("link", name="At risk first").click()
    expect(page).to_have_url("/dashboard/?tier=at_risk")
    expect(account_names(page)).to_have_text(["Dune Co", "Birch Labs"])
    screenshot(page, "saved-view")

    # Views are per user: Fox has none.
    page.context.clear_cookies()
    log_in(page, "fox")
    expect(page.get_by_test_id("saved-views")).to_have_count(0)
