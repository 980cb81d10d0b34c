// The dataview view ("#/view/<dataview path>"): one dataview's live grid,
// the page big screens deep-link to. A path typed by hand is shown in its
// canonical form.

import { mountGrid } from "../grid.js";
import { dataviewTitle, parseDataviewPath } from "../paths.js";

export const dataviewView = {
  canonical(params) {
    const parsed = parseDataviewPath(params.path);
    return parsed ? { ...params, path: parsed.path } : params;
  },

  mount(root, { path }, { store }) {
    const doc = root.ownerDocument;
    const heading = doc.createElement("h2");
    root.appendChild(heading);
    if (!parseDataviewPath(path)) {
      heading.textContent = "Not a dataview";
      const notice = doc.createElement("p");
      notice.className = "notice";
      notice.dataset.kind = "invalid";
      notice.setAttribute("role", "alert");
      notice.textContent = "Not a dataview path: " + path;
      root.appendChild(notice);
      return { title: heading.textContent };
    }
    heading.textContent = dataviewTitle(path);
    const body = doc.createElement("div");
    root.appendChild(body);
    const grid = mountGrid(body, { store, path });
    return { title: heading.textContent, unmount: grid.unmount };
  },
};
