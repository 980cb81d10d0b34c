// The wall screens view ("#/admin/screens", for manage-kiosks): the kiosk
// links issued, when each was last used, a form to issue one and a way to
// revoke one. A new link is shown once, whole, to be copied to its screen;
// the gateway keeps only its hash.

import { parseScope, scopeText } from "../session.js";
import { busy, field, h, messages, tableHead, timeCell } from "../ui.js";

export const KIOSKS_PATH = "/api/v1/kiosks";

// EXPIRIES are the choices of a link's lifetime, as the API's expires_in;
// "" is a link that works until it is revoked.
export const EXPIRIES = [
  ["", "Never (until revoked)"],
  ["24h", "1 day"],
  ["168h", "7 days"],
  ["720h", "30 days"],
  ["2160h", "90 days"],
  ["8760h", "1 year"],
];

// kioskRequest returns the POST /api/v1/kiosks body for what the issue
// form holds, or throws saying what to fix.
export function kioskRequest({ label, scope, expires }) {
  const body = { label: String(label ?? "").trim() };
  if (body.label === "") throw new Error("Give the screen a label, such as where it hangs.");
  const s = parseScope(scope);
  if (s) body.scope = s;
  if (expires) body.expires_in = expires;
  return body;
}

export const screensView = {
  mount(root, _params, { api }) {
    const doc = root.ownerDocument;
    let alive = true;

    const label = h(doc, "input", { name: "label", type: "text", required: true, maxlength: 100, autocomplete: "off" });
    const scope = h(doc, "input", { name: "scope", type: "text", placeholder: "client=acme", autocomplete: "off", spellcheck: "false" });
    const expires = h(doc, "select", { name: "expires" }, EXPIRIES.map(([v, text]) => h(doc, "option", { value: v }, text)));
    const issueButton = h(doc, "button", { type: "submit", class: "primary" }, "Issue link");
    const formMsg = messages(doc);
    const form = h(
      doc,
      "form",
      { class: "admin-form", novalidate: true, dataset: { form: "issue-kiosk" } },
      h(doc, "h3", {}, "Issue a link"),
      h(
        doc,
        "div",
        { class: "fields" },
        field(doc, "Label", label, "Where the screen is, such as Desk 3 wall."),
        field(doc, "Scope", scope, "Empty for the whole estate, or attribute=value, such as client=acme."),
        field(doc, "Expires", expires),
      ),
      formMsg.els,
      h(doc, "div", { class: "form-actions" }, issueButton),
    );
    const issued = h(doc, "section", { class: "issued", dataset: { issued: "" }, hidden: true, "aria-label": "The new link" });
    const listHeading = h(doc, "h3", { tabindex: -1 }, "Issued links");
    const listMsg = messages(doc);
    const list = h(doc, "div", { class: "admin-list", dataset: { list: "kiosks" } }, h(doc, "p", { class: "placeholder" }, "Loading…"));

    root.append(
      h(doc, "h2", {}, "Wall screens"),
      h(
        doc,
        "p",
        { class: "intro" },
        "A wall screen logs in with a link of its own, which sees what its scope allows and nothing else. " +
          "Revoking a link logs its screen out at once.",
      ),
      form,
      issued,
      listHeading,
      ...listMsg.els,
      list,
    );

    const load = () =>
      api.get(KIOSKS_PATH).then(
        (kiosks) => alive && drawList(Array.isArray(kiosks) ? kiosks : []),
        (err) => {
          if (!alive) return;
          list.replaceChildren();
          listMsg.error(err);
        },
      );

    form.addEventListener("submit", (e) => {
      e.preventDefault();
      formMsg.clear();
      let body;
      try {
        body = kioskRequest({ label: label.value, scope: scope.value, expires: expires.value });
      } catch (err) {
        formMsg.error(err);
        (label.value.trim() === "" ? label : scope).focus();
        return;
      }
      busy(issueButton, () => api.post(KIOSKS_PATH, body)).then(
        (res) => {
          if (!alive) return;
          showIssued(res || {}, body.label);
          form.reset();
          load();
        },
        (err) => alive && formMsg.error(err),
      );
    });

    function showIssued(res, asked) {
      const url = doc.location.origin + (typeof res.link === "string" ? res.link : "");
      const code = h(doc, "code", { class: "issued-link", dataset: { issuedLink: "" } }, url);
      const status = h(doc, "span", { class: "copy-status", role: "status" });
      const copy = h(doc, "button", { type: "button", class: "primary", dataset: { action: "copy-link" } }, "Copy");
      const hide = h(doc, "button", { type: "button", dataset: { action: "dismiss-link" } }, "Done");
      copy.addEventListener("click", async () => {
        try {
          await navigator.clipboard.writeText(url);
          status.textContent = "Copied.";
        } catch {
          // No clipboard outside a secure context: select it for Ctrl+C.
          const range = doc.createRange();
          range.selectNodeContents(code);
          const sel = doc.getSelection();
          sel.removeAllRanges();
          sel.addRange(range);
          status.textContent = "Selected: press Ctrl+C to copy it.";
        }
      });
      hide.addEventListener("click", () => {
        issued.hidden = true;
        issued.replaceChildren();
        label.focus();
      });
      issued.replaceChildren(
        h(doc, "h3", {}, "Link for " + (res.label || asked)),
        h(
          doc,
          "p",
          { class: "notice", dataset: { kind: "warning" } },
          "Copy this link now: it will not be shown again. Whoever has it sees what this screen sees, so open it only on the screen.",
        ),
        h(doc, "div", { class: "issued-row" }, code, copy, hide),
        status,
      );
      issued.hidden = false;
      copy.focus();
    }

    function drawList(kiosks) {
      if (kiosks.length === 0) {
        list.replaceChildren(h(doc, "p", { class: "placeholder" }, "No wall screen links yet."));
        return;
      }
      const rows = kiosks.map((k) => {
        const actions = h(doc, "td", { class: "actions" });
        const row = h(
          doc,
          "tr",
          { dataset: { kioskId: String(k.id) } },
          h(doc, "th", { scope: "row" }, String(k.label ?? "")),
          h(doc, "td", {}, scopeText(k.scope) || "whole estate"),
          h(doc, "td", {}, timeCell(doc, k.created), k.created_by ? " by " + k.created_by : ""),
          h(doc, "td", {}, timeCell(doc, k.last_used, "never")),
          h(doc, "td", {}, timeCell(doc, k.expires, "never")),
          actions,
        );
        drawActions(actions, k);
        return row;
      });
      list.replaceChildren(
        h(
          doc,
          "table",
          { class: "admin-table" },
          tableHead(doc, ["Label", "Scope", "Created", "Last used", "Expires"], { actions: true }),
          h(doc, "tbody", {}, rows),
        ),
      );
    }

    // drawActions puts the revoke button in cell, which asks to confirm in
    // place: no dialog to lose focus to, and Escape keeps the link.
    function drawActions(cell, k) {
      const name = String(k.label ?? k.id);
      const id = String(k.id);
      const revoke = h(doc, "button", { type: "button", class: "danger", dataset: { action: "revoke", kioskId: id }, "aria-label": "Revoke " + name }, "Revoke…");
      revoke.addEventListener("click", () => {
        const yes = h(doc, "button", { type: "button", class: "danger", dataset: { action: "confirm-revoke", kioskId: id } }, "Revoke");
        const no = h(doc, "button", { type: "button", dataset: { action: "cancel-revoke" } }, "Keep");
        const keep = () => {
          drawActions(cell, k);
          cell.querySelector("button").focus();
        };
        no.addEventListener("click", keep);
        cell.onkeydown = (e) => {
          if (e.key === "Escape") keep();
        };
        yes.addEventListener("click", () => {
          busy([yes, no], () => api.delete(KIOSKS_PATH + "/" + encodeURIComponent(k.id))).then(
            () => {
              if (!alive) return;
              listMsg.ok("Revoked the link of " + name + ": its screen is logged out.");
              // The row goes: keep the keyboard's place near it.
              listHeading.focus();
              load();
            },
            (err) => {
              if (!alive) return;
              listMsg.error(err);
              keep();
            },
          );
        });
        cell.replaceChildren(h(doc, "span", { class: "confirm-text" }, "Revoke this link? Its screen is logged out."), yes, no);
        yes.focus();
      });
      cell.onkeydown = null;
      cell.replaceChildren(revoke);
    }

    load();
    return {
      title: "Wall screens",
      unmount() {
        alive = false;
      },
    };
  },
};
