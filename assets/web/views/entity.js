// Placeholder of the entity view, being written.

export const entityView = {
  mount(root) {
    root.textContent = "entity";
    return {};
  },
};
