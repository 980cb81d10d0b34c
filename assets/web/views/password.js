// The password view ("#/account/password"): a person changes their own
// password, giving the current one.

import { busy, field, h, messages } from "../ui.js";

export const MY_PASSWORD_PATH = "/api/v1/me/password";

// passwordChange returns the POST /api/v1/me/password body, or throws
// saying what to fix.
export function passwordChange({ old, fresh, repeat }) {
  if (!old) throw new Error("Type your current password.");
  if (!fresh) throw new Error("Type a new password.");
  if (fresh !== repeat) throw new Error("The new password and its repetition differ.");
  if (fresh === old) throw new Error("The new password is the current one.");
  return { old, new: fresh };
}

export const passwordView = {
  mount(root, _params, { api }) {
    const doc = root.ownerDocument;
    let alive = true;
    const old = h(doc, "input", { name: "old", type: "password", required: true, autocomplete: "current-password" });
    const fresh = h(doc, "input", { name: "new", type: "password", required: true, autocomplete: "new-password" });
    const repeat = h(doc, "input", { name: "repeat", type: "password", required: true, autocomplete: "new-password" });
    const save = h(doc, "button", { type: "submit", class: "primary" }, "Change password");
    const msg = messages(doc);
    const form = h(
      doc,
      "form",
      { class: "admin-form narrow", novalidate: true, dataset: { form: "change-password" } },
      h(
        doc,
        "div",
        { class: "fields stacked" },
        field(doc, "Current password", old),
        field(doc, "New password", fresh),
        field(doc, "New password again", repeat),
      ),
      msg.els,
      h(doc, "div", { class: "form-actions" }, save),
    );
    root.append(h(doc, "h2", {}, "Change your password"), form);

    form.addEventListener("submit", (e) => {
      e.preventDefault();
      msg.clear();
      let body;
      try {
        body = passwordChange({ old: old.value, fresh: fresh.value, repeat: repeat.value });
      } catch (err) {
        msg.error(err);
        return;
      }
      busy(save, () => api.post(MY_PASSWORD_PATH, body)).then(
        () => {
          if (!alive) return;
          form.reset();
          msg.ok("Your password is changed.");
        },
        (err) => alive && msg.error(err),
      );
    });
    old.focus();
    return {
      title: "Change password",
      unmount() {
        alive = false;
      },
    };
  },
};
