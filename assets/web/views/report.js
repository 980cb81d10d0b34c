// Placeholder of the report view, being written.

export const reportView = {
  mount(root) {
    root.textContent = "report";
    return {};
  },
};
