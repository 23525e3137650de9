"""Attachments in a real browser: paste an image into the editor, see it in the saved page."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from playwright.sync_api import Browser, FilePayload, expect

from app.accounts import service as accounts
from app.core.db import make_engine, open_session
from tests.browser.conftest import LiveServer, new_page
from tests.factories import make_page
from tests.unit.attachments import samples

pytestmark = pytest.mark.browser

SLUG = "core-processes/order-to-cash"
BEFORE = "## Flow\n\nHow an order becomes cash:\n\n"
AFTER = "Billing runs nightly.\n"
SHOTS = Path("/tmp/shots")

# Draws a 1200x480 diagram on a canvas and pastes it into the editor as a PNG file.
PASTE_IMAGE = """
async (cursor) => {
  const canvas = document.createElement("canvas");
  canvas.width = 1200; canvas.height = 480;
  const g = canvas.getContext("2d");
  g.fillStyle = "#f2faf9"; g.fillRect(0, 0, 1200, 480);
  const steps = ["Order", "Fulfil", "Invoice", "Collect"];
  steps.forEach((label, i) => {
    g.fillStyle = "#0f766e"; g.fillRect(60 + i * 280, 180, 220, 120);
    g.fillStyle = "#ffffff"; g.font = "bold 34px sans-serif";
    g.fillText(label, 90 + i * 280, 252);
  });
  const blob = await new Promise((resolve) => canvas.toBlob(resolve, "image/png"));
  const file = new File([blob], "image.png", {type: "image/png"});
  const data = new DataTransfer();
  data.items.add(file);
  const textarea = document.querySelector("#body");
  textarea.focus();
  textarea.setSelectionRange(cursor, cursor);
  textarea.dispatchEvent(new ClipboardEvent("paste", {
    clipboardData: data, bubbles: true, cancelable: true,
  }));
}
"""

DROP_FILE = """
(target) => {
  const data = new DataTransfer();
  data.items.add(new File(["a,b\\n1,2\\n"], "figures.csv", {type: "text/csv"}));
  const el = document.querySelector(target);
  const init = {dataTransfer: data, bubbles: true, cancelable: true};
  el.dispatchEvent(new DragEvent("dragover", init));
  el.dispatchEvent(new DragEvent("drop", init));
}
"""


def _seed(server: LiveServer) -> None:
    settings = server.settings
    engine = make_engine(settings)
    with open_session(engine, settings) as session:
        alice = accounts.get_user(session=session, username="alice")
        make_page(session, slug=SLUG, title="Order to Cash", body=BEFORE + AFTER, author=alice)
    engine.dispose()


def test_paste_an_image_into_the_editor_and_see_it_in_the_page(
    browser: Browser, live_server: LiveServer
) -> None:
    _seed(live_server)
    alice = new_page(browser, live_server, "alice")
    alice.goto(f"{live_server.url}/edit/{SLUG}")
    expect(alice.locator("#body")).to_be_visible()

    cursor = len(BEFORE)
    alice.evaluate(PASTE_IMAGE, cursor)
    reference = "![image](attachment:image.png)"
    alice.wait_for_function(
        "(ref) => document.querySelector('#body').value.includes(ref)", arg=reference
    )
    text = alice.input_value("#body")
    assert text == BEFORE + reference + AFTER  # inserted exactly at the cursor
    expect(alice.locator(".editor-attachments")).to_contain_text("Attached image.png")
    # the live preview shows the pasted image already
    alice.wait_for_function(
        "() => { const i = document.querySelector('#preview img[alt=image]');"
        " return i && i.complete && i.naturalWidth > 0; }"
    )

    alice.locator("form#editor-form button[type=submit]").last.click()
    alice.wait_for_load_state()
    expect(alice).to_have_url(re.compile(f"/wiki/{SLUG}"))
    image = alice.locator("#content img[alt=image]")
    expect(image).to_have_attribute("src", re.compile(r"_attachments/image\.png\?w=960$"))
    alice.wait_for_function(
        "() => { const i = document.querySelector('#content img[alt=image]');"
        " return i && i.complete && i.naturalWidth > 0; }"
    )
    assert alice.evaluate("document.querySelector('#content img[alt=image]').naturalWidth") == 960

    # the panel (loaded by htmx) lists the file; dropping another one adds it without a reload
    panel = alice.locator("#attachments")
    expect(panel.locator(".attachments-table")).to_contain_text("image.png", timeout=5000)
    expect(panel).to_contain_text("PNG image")
    alice.evaluate(DROP_FILE, "#attachments .attachments-drop")
    expect(alice.locator("#attachments .attachments-table")).to_contain_text(
        "figures.csv", timeout=5000
    )
    expect(alice.locator("#attachments")).to_contain_text("CSV table")

    SHOTS.mkdir(parents=True, exist_ok=True)
    alice.locator("#content").screenshot(path=str(SHOTS / "attachments-inline-image.png"))

    # the upload button: the same name again is a new version; restore and delete by htmx
    panel = alice.locator("#attachments")
    new_version = FilePayload(name="image.png", mimeType="image/png", buffer=samples.png(300, 120))
    alice.set_input_files("#attachment-file", files=[new_version])
    panel.locator("form[data-attachments-upload] button[type=submit]").click()
    expect(panel).to_contain_text("Uploaded: image.png", timeout=5000)
    expect(panel.locator(".attachment-versions summary").last).to_have_text("2 versions")
    panel.locator(".attachment-versions summary").last.click()
    panel.locator(".version-list").last.get_by_role("button", name="Restore").click()
    expect(panel.locator(".attachment-versions summary").last).to_have_text(
        "3 versions", timeout=5000
    )
    panel.locator("tr", has_text="figures.csv").get_by_role("button", name="Delete").click()
    expect(panel.locator(".attachments-deleted")).to_contain_text("Deleted files (1)")
    panel.locator(".attachments-deleted summary").click()
    panel.locator(".attachment-versions summary").last.click()
    expect(panel.locator(".version-list").last).to_contain_text("restored from version 1")
    panel.screenshot(path=str(SHOTS / "attachments-panel.png"))
    assert alice.js_errors == []  # type: ignore[attr-defined]


def test_a_refused_paste_says_why_and_leaves_the_text_alone(
    browser: Browser, live_server: LiveServer
) -> None:
    _seed(live_server)
    alice = new_page(browser, live_server, "alice")
    alice.goto(f"{live_server.url}/edit/{SLUG}")
    expect(alice.locator("#body")).to_be_visible()
    alice.evaluate(
        """() => {
          const data = new DataTransfer();
          data.items.add(new File(["<html><script>alert(1)</script></html>"], "evil.png",
                                  {type: "image/png"}));
          const textarea = document.querySelector("#body");
          textarea.focus();
          textarea.dispatchEvent(new ClipboardEvent("paste", {
            clipboardData: data, bubbles: true, cancelable: true,
          }));
        }"""
    )
    expect(alice.locator(".editor-attachments-status")).to_contain_text(
        "is not a PNG image", timeout=5000
    )
    assert alice.input_value("#body") == BEFORE + AFTER
    # the refused upload's 422 is expected; nothing else went wrong
    errors = [e for e in alice.js_errors if "422" not in e]  # type: ignore[attr-defined]
    assert errors == []
