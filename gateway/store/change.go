package store

import (
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/watchfloor/watchfloor/rules"
)

// maxShown is how many characters of a value a change summary shows.
const maxShown = 60

// summary says in one line what a version changes: prev is the definition
// in force before it (nil if the rule was new or deleted).
func summary(prev *rules.Def, next rules.Def, action Action, from string) string {
	var lead string
	switch action {
	case Create:
		return "created"
	case Copy:
		return "copied from " + from
	case Revert:
		lead = "reverted to version " + from
		if prev == nil {
			return lead + ", restoring the deleted rule"
		}
	}
	if prev == nil {
		return "created"
	}
	diffs := diff(*prev, next)
	switch {
	case len(diffs) == 0 && lead != "":
		return lead + " (no change)"
	case len(diffs) == 0:
		return "no change"
	case lead != "":
		return lead + ": " + strings.Join(diffs, "; ")
	}
	return strings.Join(diffs, "; ")
}

// diff lists what differs between two definitions, field by field, in the
// order rules.Def declares them.
func diff(a, b rules.Def) []string {
	var out []string
	text := func(field, x, y string) {
		if x == y {
			return
		}
		out = append(out, field+": "+shown(x)+" → "+shown(y))
	}
	text("name", a.Name, b.Name)
	text("description", a.Description, b.Description)
	text("match", a.Match, b.Match)
	keys := slices.Sorted(maps.Keys(a.Where))
	for k := range b.Where {
		if _, ok := a.Where[k]; !ok {
			keys = append(keys, k)
		}
	}
	slices.Sort(keys)
	for _, k := range keys {
		text("where."+k, list(a.Where[k]), list(b.Where[k]))
	}
	level := func(name string, x, y *rules.LevelDef) {
		switch {
		case x == nil && y == nil:
		case x == nil:
			out = append(out, name+" added")
		case y == nil:
			out = append(out, name+" removed")
		default:
			text(name+".when", x.When, y.When)
			text(name+".for", dur(x.For), dur(y.For))
			text(name+".clear", x.Clear, y.Clear)
			text(name+".keep_firing_for", dur(x.KeepFiringFor), dur(y.KeepFiringFor))
		}
	}
	level("critical", a.Critical, b.Critical)
	level("warning", a.Warning, b.Warning)
	text("stale", durp(a.Stale), durp(b.Stale))
	text("rows", list(a.Rows), list(b.Rows))
	text("probe_down", durp(a.ProbeDown), durp(b.ProbeDown))
	if a.Severity != b.Severity {
		text("severity", sev(a.Severity), sev(b.Severity))
	}
	switch x, y := a.Incident, b.Incident; {
	case x == nil && y == nil:
	case x == nil:
		out = append(out, "incident added")
	case y == nil:
		out = append(out, "incident removed")
	default:
		// An empty list of actions is no actions, as an absent one is.
		names := func(vs []string) string {
			if len(vs) == 0 {
				return ""
			}
			return list(vs)
		}
		text("incident.open", sev(x.Open), sev(y.Open))
		text("incident.client", x.Client, y.Client)
		text("incident.manual", strconv.FormatBool(x.Manual), strconv.FormatBool(y.Manual))
		text("incident.impact", strconv.FormatBool(x.Impact), strconv.FormatBool(y.Impact))
		text("incident.escalation", x.Escalation, y.Escalation)
		text("incident.notify", names(x.Notify), names(y.Notify))
		text("incident.title", x.Title, y.Title)
	}
	return out
}

// shown is a value as a summary shows it: on one line, clipped, "(none)"
// for nothing.
func shown(s string) string {
	if s == "" {
		return "(none)"
	}
	s = strings.Join(strings.Fields(s), " ")
	if r := []rune(s); len(r) > maxShown {
		s = string(r[:maxShown-1]) + "…"
	}
	return s
}

func list(vs []string) string {
	if vs == nil {
		return ""
	}
	return "[" + strings.Join(vs, ", ") + "]"
}

func dur(d rules.Duration) string {
	if d == 0 {
		return ""
	}
	return time.Duration(d).String()
}

func durp(d *rules.Duration) string {
	if d == nil {
		return ""
	}
	return time.Duration(*d).String()
}

func sev(s rules.Severity) string {
	if s == rules.Undefined {
		return ""
	}
	return s.String()
}
