// Placeholder of the incident panel, being written.

export const incidentsView = {
  mount(root) {
    root.textContent = "incidents";
    return {};
  },
};

export const incidentView = {
  mount(root) {
    root.textContent = "incident";
    return {};
  },
};
