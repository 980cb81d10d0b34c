package config

import (
	"github.com/watchfloor/watchfloor/gateway/maintenance"
)

// The maintenance section: planned windows (gateway/maintenance), decoded
// as written and checked by maintenance.Compile, whose errors name the
// window's fields.

// maintenanceWindow decodes one window of the maintenance section.
func maintenanceWindow(v value) maintenance.Window {
	w := maintenance.Window{Source: maintenance.SourceConfig, PlannedBy: maintenance.SourceConfig}
	v.object(
		required("id", setStr(&w.ID)),
		required("reason", setStr(&w.Reason)),
		required("zone", setStr(&w.Zone)),
		optional("start", setStr(&w.Start)),
		optional("end", setStr(&w.End)),
		optional("days", func(v value) { w.Days = listed(v, "list at least one day, or leave days out for every day") }),
		optional("from", setStr(&w.From)),
		optional("to", setStr(&w.To)),
		optional("entities", func(v value) {
			w.Entities = listed(v, "list at least one entity, or leave entities out and select them with where")
		}),
		optional("where", func(v value) { w.Where = selectors(v) }),
	)
	return w
}

// listed decodes a list of strings that, when given, holds some: an
// empty list fails with msg.
func listed(v value, msg string) []string {
	out := strs(v)
	if len(out) == 0 && v.kind == sequence {
		v.fail("%s", msg)
	}
	return out
}

// maintenance checks the maintenance windows: each as Compile does, at
// the fields it names, and their IDs unique.
func (v *validator) maintenance(ws []maintenance.Window) {
	ids := map[string]string{}
	for i, w := range ws {
		f := index("maintenance", i)
		if _, err := maintenance.Compile(w); err != nil {
			for _, fe := range maintenance.Fields(err) {
				v.errorf(f+"."+fe.Field, "%s", fe.Msg)
			}
		}
		if maintenance.CheckID(w.ID) == nil {
			v.unique(f+".id", "maintenance window", w.ID, ids, f)
		}
	}
}
