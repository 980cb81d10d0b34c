// Placeholder of the rule editor, being written.

export const rulesView = {
  mount(root) {
    root.textContent = "rules";
    return {};
  },
};

export const ruleEditView = {
  mount(root) {
    root.textContent = "rule";
    return {};
  },
};
