// The view for a location no route knows.

export const notFoundView = {
  mount(root, { rest }) {
    const doc = root.ownerDocument;
    const title = doc.createElement("h2");
    title.textContent = "Nothing here";
    const hint = doc.createElement("p");
    hint.className = "placeholder";
    const home = doc.createElement("a");
    home.href = "#/";
    home.textContent = "the start page";
    hint.append("There is no page at #/" + rest + ". Choose a dataview from the tree, or go to ", home, ".");
    root.append(title, hint);
    return { title: title.textContent };
  },
};
