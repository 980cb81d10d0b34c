// The users view ("#/admin/users", for manage-users): every user with where
// it is defined, its roles and scope; a form to add one; and, for users
// kept in the gateway's database, editing their roles and scope, disabling
// and enabling them and setting a new password. Users from the
// configuration file are changed in the file.

import { parseScope, scopeText } from "../session.js";
import { busy, field, h, messages, tableHead } from "../ui.js";

export const USERS_PATH = "/api/v1/users";

// DEFAULT_ROLES are the roles every gateway has (gateway/access
// DefaultRoles), from least to most.
export const DEFAULT_ROLES = ["client", "viewer", "operator", "client-services", "engineer", "manager", "admin"];

// roleChoices returns the roles to offer: the default ones in their order,
// then every other role a user holds, sorted.
export function roleChoices(users) {
  const extra = new Set();
  for (const u of users) {
    for (const r of Array.isArray(u.roles) ? u.roles : []) {
      if (typeof r === "string" && r !== "" && !DEFAULT_ROLES.includes(r)) extra.add(r);
    }
  }
  return [...DEFAULT_ROLES, ...[...extra].sort()];
}

// userRequest returns the POST /api/v1/users body for what the add form
// holds, or throws saying what to fix.
export function userRequest({ name, roles, scope, password }) {
  const body = { name: String(name ?? "").trim(), roles: [...roles] };
  if (body.name === "") throw new Error("Give the user a name.");
  if (body.roles.length === 0) throw new Error("Choose at least one role.");
  const s = parseScope(scope);
  if (s) body.scope = s;
  if (!password) throw new Error("Give the user a first password.");
  body.password = password;
  return body;
}

// rolesField returns a fieldset of a checkbox per role in choices, those
// in checked ticked (but not by default: a form's reset unticks them all),
// and reads back the ticked ones with .checked().
function rolesField(doc, choices, checked) {
  const set = new Set(checked);
  const boxes = choices.map((r) => {
    const box = h(doc, "input", { type: "checkbox", name: "role", value: r });
    box.checked = set.has(r);
    return h(doc, "label", { class: "check" }, box, " " + r);
  });
  const fs = h(doc, "fieldset", { class: "roles" }, h(doc, "legend", {}, "Roles"), boxes);
  return { el: fs, checked: () => [...fs.querySelectorAll('input[name="role"]:checked')].map((i) => i.value) };
}

function userPath(name) {
  return USERS_PATH + "/" + encodeURIComponent(name);
}

export const usersView = {
  mount(root, _params, { api }) {
    const doc = root.ownerDocument;
    let alive = true;
    let users = [];
    let choices = DEFAULT_ROLES;
    let editor = null; // {row, back}: the open inline form, and the button that opened it

    // The add form.
    const name = h(doc, "input", { name: "name", type: "text", required: true, autocomplete: "off", autocapitalize: "none", spellcheck: "false" });
    const scope = h(doc, "input", { name: "scope", type: "text", placeholder: "client=acme", autocomplete: "off", spellcheck: "false" });
    const password = h(doc, "input", { name: "password", type: "password", required: true, autocomplete: "new-password" });
    let addRoles = rolesField(doc, choices, []);
    const addButton = h(doc, "button", { type: "submit", class: "primary" }, "Add user");
    const addMsg = messages(doc);
    const addFields = h(
      doc,
      "div",
      { class: "fields" },
      field(doc, "Name", name),
      field(doc, "Scope", scope, "Empty for the whole estate, or attribute=value, such as client=acme. The client role needs one."),
      field(doc, "First password", password),
    );
    const form = h(
      doc,
      "form",
      { class: "admin-form", novalidate: true, dataset: { form: "add-user" } },
      h(doc, "h3", {}, "Add a user"),
      addFields,
      addRoles.el,
      addMsg.els,
      h(doc, "div", { class: "form-actions" }, addButton),
    );

    // The heading takes focus after an action whose button goes away.
    const heading = h(doc, "h2", { tabindex: -1 }, "Users");
    const listMsg = messages(doc);
    const list = h(doc, "div", { class: "admin-list", dataset: { list: "users" } }, h(doc, "p", { class: "placeholder" }, "Loading…"));
    root.append(heading, ...listMsg.els, list, form);

    const load = () =>
      api.get(USERS_PATH).then(
        (got) => {
          if (!alive) return;
          users = Array.isArray(got) ? got : [];
          choices = roleChoices(users);
          const ticked = addRoles.checked();
          const fresh = rolesField(doc, choices, ticked);
          addRoles.el.replaceWith(fresh.el);
          addRoles = fresh;
          drawList();
        },
        (err) => {
          if (!alive) return;
          list.replaceChildren();
          listMsg.error(err);
        },
      );

    // done reports what was done, puts focus back by the list and reloads.
    const done = (text) => {
      if (!alive) return;
      listMsg.ok(text);
      heading.focus();
      load();
    };
    const failed = (err) => alive && listMsg.error(err);

    form.addEventListener("submit", (e) => {
      e.preventDefault();
      addMsg.clear();
      let body;
      try {
        body = userRequest({ name: name.value, roles: addRoles.checked(), scope: scope.value, password: password.value });
      } catch (err) {
        addMsg.error(err);
        return;
      }
      busy(addButton, () => api.post(USERS_PATH, body)).then(
        () => {
          if (!alive) return;
          form.reset();
          addMsg.ok("Added " + body.name + ".");
          load();
        },
        (err) => alive && addMsg.error(err),
      );
    });

    function drawList() {
      editor = null;
      if (users.length === 0) {
        list.replaceChildren(h(doc, "p", { class: "placeholder" }, "No users yet."));
        return;
      }
      list.replaceChildren(
        h(
          doc,
          "table",
          { class: "admin-table" },
          tableHead(doc, ["Name", "Defined in", "Roles", "Scope", "Status"], { actions: true }),
          h(doc, "tbody", {}, users.map(userRow)),
        ),
      );
    }

    function userRow(u) {
      const uname = String(u.name ?? "");
      const fromConfig = u.source === "config";
      const disabled = u.disabled === true;
      const row = h(
        doc,
        "tr",
        { dataset: { user: uname, source: String(u.source ?? ""), disabled: String(disabled) } },
        h(doc, "th", { scope: "row" }, uname),
        h(doc, "td", {}, fromConfig ? "configuration file" : "database"),
        h(doc, "td", {}, Array.isArray(u.roles) ? u.roles.join(", ") : ""),
        h(doc, "td", {}, scopeText(u.scope) || "whole estate"),
        h(doc, "td", {}, h(doc, "span", { class: "user-status", dataset: { disabled: String(disabled) } }, disabled ? "disabled" : "enabled")),
      );
      const actions = h(doc, "td", { class: "actions" });
      if (fromConfig) {
        actions.append(h(doc, "span", { class: "muted", title: "Change this user in the configuration file." }, "read-only"));
      } else {
        const button = (action, text, onClick, cls) => {
          const b = h(doc, "button", { type: "button", class: cls, dataset: { action }, "aria-label": text + " " + uname }, text);
          b.addEventListener("click", () => onClick(b));
          return b;
        };
        const setDisabled = (b, to, said) => busy(b, () => api.put(userPath(uname), { disabled: to })).then(() => done(said), failed);
        actions.append(
          button("edit", "Edit", () => openEditor(row, u, "edit")),
          disabled
            ? button("enable", "Enable", (b) => setDisabled(b, false, "Enabled " + uname + "."))
            : button("disable", "Disable", (b) => setDisabled(b, true, "Disabled " + uname + ": they can no longer log in."), "danger"),
          button("reset-password", "Set password", () => openEditor(row, u, "password")),
        );
      }
      row.append(actions);
      return row;
    }

    // openEditor opens, under a user's row, the form to edit their roles
    // and scope or to set their password; one such form is open at a time.
    function openEditor(row, u, kind) {
      closeEditor();
      const uname = String(u.name ?? "");
      const msg = messages(doc);
      const save = h(doc, "button", { type: "submit", class: "primary" }, kind === "edit" ? "Save" : "Set password");
      const cancel = h(doc, "button", { type: "button", dataset: { action: "cancel" } }, "Cancel");
      let fields;
      let roles;
      let scopeIn;
      let pw;
      if (kind === "edit") {
        roles = rolesField(doc, choices, Array.isArray(u.roles) ? u.roles : []);
        scopeIn = h(doc, "input", { name: "scope", type: "text", value: scopeText(u.scope), placeholder: "client=acme", autocomplete: "off", spellcheck: "false" });
        fields = [roles.el, h(doc, "div", { class: "fields" }, field(doc, "Scope", scopeIn, "Empty for the whole estate."))];
      } else {
        pw = h(doc, "input", { name: "password", type: "password", required: true, autocomplete: "new-password" });
        fields = [h(doc, "div", { class: "fields" }, field(doc, "New password for " + uname, pw))];
      }
      const form = h(
        doc,
        "form",
        { class: "admin-form inline", novalidate: true, dataset: { form: kind === "edit" ? "edit-user" : "reset-password", user: uname } },
        fields,
        msg.els,
        h(doc, "div", { class: "form-actions" }, save, cancel),
      );
      const editRow = h(doc, "tr", { class: "editor" }, h(doc, "td", { colspan: 6 }, form));
      row.after(editRow);
      editor = { row: editRow, back: row.querySelector(`button[data-action="${kind === "edit" ? "edit" : "reset-password"}"]`) };
      cancel.addEventListener("click", () => closeEditor(true));
      form.addEventListener("keydown", (e) => {
        if (e.key === "Escape") closeEditor(true);
      });
      form.addEventListener("submit", (e) => {
        e.preventDefault();
        msg.clear();
        let req;
        try {
          req = kind === "edit" ? editRequest(u, roles.checked(), scopeIn.value) : passwordRequest(pw.value);
        } catch (err) {
          msg.error(err);
          return;
        }
        const call = () => (kind === "edit" ? api.put(userPath(uname), req) : api.post(userPath(uname) + "/password", req));
        busy([save, cancel], call).then(
          () => done(kind === "edit" ? "Saved " + uname + "." : "Set a new password for " + uname + "."),
          (err) => alive && msg.error(err),
        );
      });
      (kind === "edit" ? form.querySelector("input") : pw).focus();
    }

    function closeEditor(refocus = false) {
      if (!editor) return;
      const { row, back } = editor;
      editor = null;
      row.remove();
      if (refocus && back) back.focus();
    }

    load();
    return {
      title: "Users",
      unmount() {
        alive = false;
      },
    };
  },
};

// editRequest returns the PUT body for a user's new roles and scope: only
// what changed, the scope as {} when it is cleared to the whole estate.
export function editRequest(u, roles, scopeTextIn) {
  if (roles.length === 0) throw new Error("Choose at least one role.");
  const body = {};
  const before = Array.isArray(u.roles) ? u.roles : [];
  if (roles.length !== before.length || roles.some((r) => !before.includes(r))) body.roles = roles;
  if (scopeTextIn.trim() !== scopeText(u.scope)) body.scope = parseScope(scopeTextIn) || {};
  if (Object.keys(body).length === 0) throw new Error("Nothing to save: the roles and scope are as they were.");
  return body;
}

// passwordRequest returns the body that sets a user's password.
export function passwordRequest(password) {
  if (!password) throw new Error("Type the new password.");
  return { password };
}
