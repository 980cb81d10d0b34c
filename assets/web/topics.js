// The topics the dashboard hub serves and the model that keeps each one's
// state in the store. A new topic adds its model here.

import { DataviewModel, DATAVIEW_TOPIC_PREFIX } from "./dataview-model.js";
import { IncidentsModel, INCIDENTS_TOPIC } from "./incidents-model.js";
import { TreeModel, TREE_TOPIC } from "./tree-model.js";

// modelFor returns a new model for topic; a topic nobody serves is a
// programming error.
export function modelFor(topic) {
  if (topic === TREE_TOPIC) return new TreeModel();
  if (topic === INCIDENTS_TOPIC) return new IncidentsModel();
  if (topic.startsWith(DATAVIEW_TOPIC_PREFIX)) return new DataviewModel(topic.slice(DATAVIEW_TOPIC_PREFIX.length));
  throw new Error("no model for topic " + JSON.stringify(topic));
}
