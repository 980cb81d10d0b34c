// The home view: shown until a dataview is chosen.

export const homeView = {
  mount(root) {
    const doc = root.ownerDocument;
    const title = doc.createElement("h2");
    title.textContent = "No dataview selected";
    const hint = doc.createElement("p");
    hint.className = "placeholder";
    hint.textContent = "Choose a dataview from the tree.";
    root.append(title, hint);
    return {};
  },
};
