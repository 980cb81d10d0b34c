// Placeholder of the wall view, being written.

export const wallView = {
  mount(root) {
    root.textContent = "wall";
    return {};
  },
};
