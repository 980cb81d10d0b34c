package store_test

import (
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/tidwall/buntdb"

	"github.com/watchfloor/watchfloor/gateway/incident"
	"github.com/watchfloor/watchfloor/gateway/store"
	"github.com/watchfloor/watchfloor/rules"
)

var day0 = time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)

// newIncident is an incident opened at opened, numbered n on that day,
// with its opening event.
func newIncident(n int, opened time.Time, title string) (incident.Incident, []incident.Event) {
	inc := incident.Incident{
		ID: fmt.Sprintf("INC-%s-%04d", opened.Format("20060102"), n), Rule: "cpu-high",
		Path: "emea/oms-1/cpu/cpu/total/utilisation", Probe: "oms-1", Entity: "oms-1",
		Title: title, State: incident.Open, Severity: rules.Warning, Peak: rules.Warning,
		Value: "91.5", Opened: opened, Updated: opened,
	}
	evs := event(&inc, opened, incident.EvOpened, "")
	return inc, evs
}

// event adds an event to inc's timeline and returns it.
func event(inc *incident.Incident, at time.Time, kind incident.EventKind, text string) []incident.Event {
	inc.Events++
	inc.Updated = at
	return []incident.Event{{Incident: inc.ID, Seq: inc.Events, Time: at, Kind: kind, Text: text}}
}

func put(t *testing.T, s *store.Store, inc incident.Incident, evs []incident.Event, audit ...store.Audit) {
	t.Helper()
	if err := s.PutIncidents([]store.IncidentWrite{{Incident: inc, Events: evs}}, audit...); err != nil {
		t.Fatal(err)
	}
}

func incAudit(action, id string, at time.Time) store.Audit {
	return store.Audit{Time: at, Who: "alice", Kind: "person", Source: "10.0.0.1", Action: action, Target: id, OK: true}
}

// keyOf is the end of an incident's keys: INC-20261201-0042 is
// 20261201:000042.
func keyOf(id string) string {
	f := strings.Split(id, "-")
	n, _ := strconv.Atoi(f[2])
	return fmt.Sprintf("%s:%06d", f[1], n)
}

func ids(incs []incident.Incident) []string {
	out := []string{}
	for _, inc := range incs {
		out = append(out, inc.ID)
	}
	return out
}

// incidentKeys is every key the incidents of s have.
func incidentKeys(s *store.Store) []string {
	var keys []string
	for _, p := range []string{"incident:", "incev:", "incidx:"} {
		keys = append(keys, store.Keys(s, p)...)
	}
	return keys
}

// An incident read with its timeline agrees with it while writes go on:
// its event count is the timeline's length.
func TestTimelineAgreesWithItsIncident(t *testing.T) {
	backends(t, func(t *testing.T, s *store.Store) {
		inc, evs := newIncident(7, day0, "flapping")
		put(t, s, inc, evs)
		done := make(chan struct{})
		go func() {
			defer close(done)
			for i := range 300 {
				more := event(&inc, day0.Add(time.Duration(i)*time.Second), incident.EvComment, "again")
				if err := s.PutIncidents([]store.IncidentWrite{{Incident: inc, Events: more}}); err != nil {
					t.Error(err)
					return
				}
			}
		}()
		defer func() { <-done }()
		for {
			select {
			case <-done:
				return
			default:
			}
			got, tl, err := s.Timeline(inc.ID)
			if err != nil || got.Events != len(tl) {
				t.Errorf("the incident counts %d events, its timeline has %d (%v)", got.Events, len(tl), err)
				return
			}
		}
	})
}

func TestIncidentRoundTrip(t *testing.T) {
	backends(t, func(t *testing.T, s *store.Store) {
		inc, evs := newIncident(42, day0, "CPU of oms-1 high")
		inc.Client, inc.Headline, inc.Notify = "acme", true, []string{"pager"}
		inc.Ack = &incident.Ack{By: "bob", At: day0.Add(time.Minute), Comment: "on it", Severity: rules.Warning}
		inc.Snooze = &incident.Snooze{Target: inc.ID, By: "bob", Reason: "deploy", At: day0, Until: day0.Add(time.Hour)}
		inc.Impact = &incident.Impact{By: "bob", At: day0, Description: "orders slow"}
		inc.Escalation = incident.Escalation{Policy: "desk", Since: day0, Level: 1, At: day0, Next: day0.Add(time.Hour)}
		inc.Drafts = map[incident.NoticeKind]incident.Notice{incident.ProblemNotice: {Kind: incident.ProblemNotice, Subject: "s", Body: "b", Drafted: day0}}
		inc.Report = incident.Report{Cause: "a leak"}
		evs = append(evs, event(&inc, day0.Add(time.Minute), incident.EvComment, "looking")...)
		put(t, s, inc, evs, incAudit(store.AuditIncidentAck, inc.ID, day0))

		got, err := s.Incident(inc.ID)
		if err != nil || !reflect.DeepEqual(got, inc) {
			t.Errorf("Incident = %+v, %v\nwant %+v", got, err, inc)
		}
		withTL, tl, err := s.Timeline(inc.ID)
		if err != nil || !reflect.DeepEqual(tl, evs) || !reflect.DeepEqual(withTL, inc) {
			t.Errorf("Timeline = %+v, %+v, %v\nwant %+v, %+v", withTL, tl, err, inc, evs)
		}

		// A second write appends its events to the timeline.
		inc.State, inc.Resolved = incident.Resolved, day0.Add(time.Hour)
		more := event(&inc, day0.Add(time.Hour), incident.EvResolved, "")
		put(t, s, inc, more)
		if got, _ := s.Incident(inc.ID); got.State != incident.Resolved || got.Events != 3 {
			t.Errorf("after the second write the incident is %s with %d events", got.State, got.Events)
		}
		_, tl, err = s.Timeline(inc.ID)
		if err != nil || !reflect.DeepEqual(tl, append(evs, more...)) {
			t.Errorf("Timeline after two writes = %+v, %v", tl, err)
		}

		entries, _, err := s.Query(store.AuditQuery{Action: "incident."})
		if err != nil || len(entries) != 1 || entries[0].Target != inc.ID || entries[0].Action != "incident.ack" {
			t.Errorf("audit = %+v, %v; want the incident.ack", entries, err)
		}

		for _, id := range []string{"INC-20261201-0043", "INC-20261202-0042"} {
			if _, err := s.Incident(id); !errors.Is(err, store.ErrNotFound) {
				t.Errorf("Incident(%s): %v, want ErrNotFound", id, err)
			}
			if _, _, err := s.Timeline(id); !errors.Is(err, store.ErrNotFound) {
				t.Errorf("Timeline(%s): %v, want ErrNotFound", id, err)
			}
		}
		if _, err := s.Incident("INC-20261201-00042"); !errors.Is(err, store.ErrNotFound) || !errors.Is(err, store.ErrInvalid) {
			t.Errorf("Incident of an ID of the wrong form: %v, want ErrNotFound and ErrInvalid", err)
		}
	})
}

// A write the keys cannot hold, or whose events are not its incident's
// next ones, is refused and writes nothing.
func TestIncidentWriteRefused(t *testing.T) {
	backends(t, func(t *testing.T, s *store.Store) {
		inc, evs := newIncident(1, day0, "t")
		put(t, s, inc, evs)
		before := incidentKeys(s)
		other, _ := newIncident(2, day0, "other")
		f := func(name string, want error, w store.IncidentWrite) {
			t.Helper()
			err := s.PutIncidents([]store.IncidentWrite{{Incident: other, Events: nil}, w})
			if !errors.Is(err, want) {
				t.Errorf("%s: %v, want %v", name, err, want)
			}
		}
		next := inc
		again := event(&next, day0, incident.EvComment, "x")
		f("an ID of the wrong form", store.ErrInvalid, store.IncidentWrite{Incident: incident.Incident{ID: "INC-1", State: incident.Open}})
		f("a 7-digit number", store.ErrInvalid, store.IncidentWrite{Incident: incident.Incident{ID: "INC-20261201-1000000", State: incident.Open}})
		f("an unknown state", store.ErrInvalid, store.IncidentWrite{Incident: incident.Incident{ID: "INC-20261201-0003", State: "gone"}})
		f("another incident's event", store.ErrInvalid, store.IncidentWrite{Incident: next,
			Events: []incident.Event{{Incident: other.ID, Seq: 2, Kind: incident.EvComment}}})
		f("an event past the timeline's length", store.ErrInvalid, store.IncidentWrite{Incident: next,
			Events: []incident.Event{{Incident: inc.ID, Seq: 3, Kind: incident.EvComment}}})
		f("an event at 0", store.ErrInvalid, store.IncidentWrite{Incident: next,
			Events: []incident.Event{{Incident: inc.ID, Seq: 0, Kind: incident.EvComment}}})
		f("an event at a taken place", store.ErrConflict, store.IncidentWrite{Incident: next, Events: evs})
		f("the same event twice", store.ErrConflict, store.IncidentWrite{Incident: next, Events: append(again, again...)})
		if after := incidentKeys(s); !reflect.DeepEqual(after, before) {
			t.Errorf("refused writes changed the keys:\nbefore %q\nafter  %q", before, after)
		}
	})
}

// A write fails whole: when its audit entry cannot be written, or any of
// its keys, nothing of its incidents is.
func TestIncidentWriteFailsWhole(t *testing.T) {
	backends(t, func(t *testing.T, s *store.Store) {
		inc, evs := newIncident(1, day0, "t")
		inc.Client = "acme"
		put(t, s, inc, evs)
		before := incidentKeys(s)
		auditBefore := store.Keys(s, "audit:")

		// Resolving it moves its state key, and opens a second one.
		next := inc
		next.State, next.Client = incident.Resolved, "beta"
		batch := func() []store.IncidentWrite {
			second, sevs := newIncident(2, day0, "second")
			return []store.IncidentWrite{{Incident: next, Events: event(&next, day0, incident.EvResolved, "")}, {Incident: second, Events: sevs}}
		}
		ok := incAudit(store.AuditIncidentResolve, inc.ID, day0)
		if err := s.PutIncidents(batch(), ok, store.Audit{Time: day0}); !errors.Is(err, store.ErrInvalid) {
			t.Errorf("a write with an audit entry without an action: %v, want ErrInvalid", err)
		}
		if err := s.PutSnooze(incident.Snooze{Target: "a/b", By: "bob", Until: day0}, store.Audit{Time: day0}); !errors.Is(err, store.ErrInvalid) {
			t.Errorf("a snooze with an audit entry without an action: %v, want ErrInvalid", err)
		}
		for _, prefix := range []string{"audit:", "incev:", "incidx:state:resolved:", "incidx:client:", "incident:20261201:000002"} {
			restore := store.FailWrites(s, prefix)
			err := s.PutIncidents(batch(), ok)
			restore()
			if !errors.Is(err, store.ErrDiskFull) {
				t.Errorf("a write with writes under %s failing: %v, want the failure", prefix, err)
			}
		}
		if after := incidentKeys(s); !reflect.DeepEqual(after, before) {
			t.Errorf("failed writes changed the keys:\nbefore %q\nafter  %q", before, after)
		}
		if after := store.Keys(s, "audit:"); !reflect.DeepEqual(after, auditBefore) {
			t.Errorf("failed writes wrote audit entries %q", after)
		}
		if sn, _ := s.Snoozes(); len(sn) != 0 {
			t.Errorf("a failed snooze was stored: %+v", sn)
		}
		if got, _ := s.Incident(inc.ID); !reflect.DeepEqual(got, inc) {
			t.Errorf("after failed writes the incident is %+v", got)
		}
	})
}

// The index keys follow the incident's state and client.
func TestIncidentIndexKeys(t *testing.T) {
	backends(t, func(t *testing.T, s *store.Store) {
		inc, evs := newIncident(42, day0, "t")
		inc.Client = "acme:corp"
		put(t, s, inc, evs)
		want := []string{"incidx:client:acme%3Acorp:20261201:000042", "incidx:state:open:20261201:000042"}
		if got := store.Keys(s, "incidx:"); !reflect.DeepEqual(got, want) {
			t.Errorf("index keys %q, want %q", got, want)
		}
		query := func(q store.IncidentQuery) []string {
			t.Helper()
			list, _, err := s.Incidents(q)
			if err != nil {
				t.Fatal(err)
			}
			return ids(list)
		}
		one := []string{inc.ID}
		for _, c := range []struct {
			name string
			q    store.IncidentQuery
			want []string
		}{
			{"open", store.IncidentQuery{States: []incident.State{incident.Open}}, one},
			{"resolved", store.IncidentQuery{States: []incident.State{incident.Resolved}}, []string{}},
			{"its client", store.IncidentQuery{Client: "acme:corp"}, one},
			{"a client its own begins with", store.IncidentQuery{Client: "acme"}, []string{}},
		} {
			if got := query(c.q); !reflect.DeepEqual(got, c.want) {
				t.Errorf("before the change, %s: %v, want %v", c.name, got, c.want)
			}
		}

		inc.State, inc.Resolved, inc.Client = incident.Resolved, day0.Add(time.Hour), "beta"
		put(t, s, inc, event(&inc, day0.Add(time.Hour), incident.EvResolved, ""))
		want = []string{"incidx:client:beta:20261201:000042", "incidx:state:resolved:20261201:000042"}
		if got := store.Keys(s, "incidx:"); !reflect.DeepEqual(got, want) {
			t.Errorf("after the change, index keys %q, want %q", got, want)
		}
		for _, c := range []struct {
			name string
			q    store.IncidentQuery
			want []string
		}{
			{"open", store.IncidentQuery{States: []incident.State{incident.Open}}, []string{}},
			{"resolved", store.IncidentQuery{States: []incident.State{incident.Resolved}}, one},
			{"its old client", store.IncidentQuery{Client: "acme:corp"}, []string{}},
			{"its client", store.IncidentQuery{Client: "beta"}, one},
		} {
			if got := query(c.q); !reflect.DeepEqual(got, c.want) {
				t.Errorf("after the change, %s: %v, want %v", c.name, got, c.want)
			}
		}

		// Without a client it has no client key.
		inc.Client = ""
		put(t, s, inc, nil)
		if got := store.Keys(s, "incidx:"); !reflect.DeepEqual(got, want[1:]) {
			t.Errorf("without a client, index keys %q, want %q", got, want[1:])
		}
	})
}

// queryFixture stores incidents to query, and returns them by name.
func queryFixture(t *testing.T, s *store.Store) map[string]incident.Incident {
	t.Helper()
	h := func(d int) time.Time { return day0.Add(time.Duration(d) * time.Hour) }
	out := map[string]incident.Incident{}
	var batch []store.IncidentWrite
	add := func(name string, n int, opened time.Time, edit func(inc *incident.Incident) []incident.Event) {
		inc, evs := newIncident(n, opened, name)
		evs = append(evs, edit(&inc)...)
		out[name] = inc
		batch = append(batch, store.IncidentWrite{Incident: inc, Events: evs})
	}
	resolve := func(inc *incident.Incident, at time.Time) []incident.Event {
		inc.State, inc.Resolved, inc.Severity = incident.Resolved, at, rules.OK
		return event(inc, at, incident.EvResolved, "")
	}
	// Day 1: 09:00 to 12:00 on oms-1 for acme, resolved at 11:00.
	add("cpu", 1, h(0), func(inc *incident.Incident) []incident.Event {
		inc.Client = "acme"
		return append(event(inc, h(1), incident.EvComment, "Restarted the FIX session"), resolve(inc, h(2))...)
	})
	// Critical, open, on fix-2, assigned.
	add("fix", 2, h(1), func(inc *incident.Incident) []incident.Event {
		inc.Peak, inc.Severity, inc.Entity, inc.Probe, inc.Assignee = rules.Critical, rules.Critical, "fix-2", "fix-2", "carol"
		inc.Path, inc.Value = "emea/fix-2/fix/session/state", "down"
		return event(inc, h(1), incident.EvSeverity, "Restarted nothing")
	})
	// Closed: resolved at 14:00, closed at 17:00.
	add("disk", 3, h(3), func(inc *incident.Incident) []incident.Event {
		inc.Client = "beta"
		evs := resolve(inc, h(5))
		inc.State, inc.Closed = incident.Closed, h(8)
		return append(evs, event(inc, h(8), incident.EvClosed, "")...)
	})
	// Day 2: raised by a person, no rule; open.
	add("raised", 1, h(24), func(inc *incident.Incident) []incident.Event {
		inc.Rule, inc.RaisedBy, inc.Client, inc.Path = "", "dave", "acme", ""
		return event(inc, h(24), incident.EvComment, "client says orders fail")
	})
	// Day 2: resolved, warning.
	add("feed", 2, h(26), func(inc *incident.Incident) []incident.Event {
		inc.Entity, inc.Probe = "feed-1", "feed-1"
		return resolve(inc, h(27))
	})
	if err := s.PutIncidents(batch); err != nil {
		t.Fatal(err)
	}
	return out
}

func TestIncidentQuery(t *testing.T) {
	backends(t, func(t *testing.T, s *store.Store) {
		incs := queryFixture(t, s)
		h := func(d int) time.Time { return day0.Add(time.Duration(d) * time.Hour) }
		f := func(name string, q store.IncidentQuery, want ...string) {
			t.Helper()
			list, next, err := s.Incidents(q)
			if err != nil {
				t.Fatalf("%s: %v", name, err)
			}
			var names []string
			for _, inc := range list {
				for n, x := range incs {
					if x.ID == inc.ID {
						names = append(names, n)
						if !reflect.DeepEqual(inc, x) {
							t.Errorf("%s: %s reads %+v\nwant %+v", name, n, inc, x)
						}
					}
				}
			}
			if !slices.Equal(names, want) || next != "" {
				t.Errorf("%s: %v (next %q), want %v", name, names, next, want)
			}
		}
		open, resolved, closed := incident.Open, incident.Resolved, incident.Closed
		f("everything, newest first", store.IncidentQuery{}, "feed", "raised", "disk", "fix", "cpu")
		f("open", store.IncidentQuery{States: []incident.State{open}}, "raised", "fix")
		f("open or resolved", store.IncidentQuery{States: []incident.State{resolved, open}}, "feed", "raised", "fix", "cpu")
		f("a state twice", store.IncidentQuery{States: []incident.State{closed, closed}}, "disk")
		f("every state", store.IncidentQuery{States: []incident.State{closed, open, resolved}}, "feed", "raised", "disk", "fix", "cpu")
		f("warning or worse", store.IncidentQuery{Severity: rules.Warning}, "feed", "raised", "disk", "fix", "cpu")
		f("critical", store.IncidentQuery{Severity: rules.Critical}, "fix")
		f("an entity", store.IncidentQuery{Entity: "fix-2"}, "fix")
		f("a probe", store.IncidentQuery{Probe: "feed-1"}, "feed")
		f("a probe no incident has", store.IncidentQuery{Probe: "feed"})
		f("a client", store.IncidentQuery{Client: "acme"}, "raised", "cpu")
		f("a client and a state", store.IncidentQuery{Client: "acme", States: []incident.State{resolved}}, "cpu")
		f("a client no incident has", store.IncidentQuery{Client: "gamma"})

		f("text in the title, any case", store.IncidentQuery{Text: "FEED"}, "feed")
		f("text in the ID", store.IncidentQuery{Text: "20261202-0001"}, "raised")
		f("text in the path", store.IncidentQuery{Text: "fix/session"}, "fix")
		f("text in the value", store.IncidentQuery{Text: "down"}, "fix")
		f("text in the rule", store.IncidentQuery{Text: "cpu-HIGH"}, "feed", "disk", "fix", "cpu")
		f("text in the assignee", store.IncidentQuery{Text: "carol"}, "fix")
		f("text in a comment", store.IncidentQuery{Text: "fix session"}, "cpu")
		f("text in a comment, any case", store.IncidentQuery{Text: "ORDERS FAIL"}, "raised")
		f("text in an event that is not a comment", store.IncidentQuery{Text: "restarted nothing"})
		f("text and a state", store.IncidentQuery{Text: "restarted", States: []incident.State{open}})

		// cpu lives 09:00–11:00, fix from 10:00 on, disk 12:00–14:00
		// (closed at 17:00), raised from day 2 09:00 on, feed day 2
		// 11:00–12:00.
		f("a life ending at From", store.IncidentQuery{From: h(2), To: h(2)}, "fix", "cpu")
		f("a life ending just before From", store.IncidentQuery{From: h(2).Add(time.Nanosecond), To: h(3).Add(-time.Nanosecond)}, "fix")
		f("a life starting at To", store.IncidentQuery{To: h(3), From: h(3)}, "disk", "fix")
		f("a life starting just after To", store.IncidentQuery{To: h(1).Add(-time.Nanosecond)}, "cpu")
		f("a closed incident's life ends when it was resolved", store.IncidentQuery{From: h(6), To: h(7)}, "fix")
		f("From only", store.IncidentQuery{From: h(5)}, "feed", "raised", "disk", "fix")
		f("an open incident's life goes on", store.IncidentQuery{From: h(100)}, "raised", "fix")
		f("To only", store.IncidentQuery{To: h(24)}, "raised", "disk", "fix", "cpu")
		f("a range of day 2", store.IncidentQuery{From: h(24), To: h(48)}, "feed", "raised", "fix")
		f("a range and a state", store.IncidentQuery{From: h(24), To: h(48), States: []incident.State{resolved}}, "feed")
	})
}

// Pages of a query follow one another without gaps or repeats, whatever
// index the query walks, and incidents opened meanwhile come on no later
// page.
func TestIncidentPages(t *testing.T) {
	backends(t, func(t *testing.T, s *store.Store) {
		var batch []store.IncidentWrite
		var want, wantLive, wantAcme []string
		for d := range 3 {
			for n := 1; n <= 9; n++ {
				inc, evs := newIncident(n, day0.AddDate(0, 0, d), "t")
				switch n % 3 {
				case 0:
					inc.State = incident.Closed
				case 1:
					inc.State = incident.Resolved
					inc.Client = "acme"
				}
				batch = append(batch, store.IncidentWrite{Incident: inc, Events: evs})
				want = append(want, inc.ID)
				if inc.State != incident.Closed {
					wantLive = append(wantLive, inc.ID)
				}
				if inc.Client == "acme" {
					wantAcme = append(wantAcme, inc.ID)
				}
			}
		}
		if err := s.PutIncidents(batch); err != nil {
			t.Fatal(err)
		}
		slices.Reverse(want)
		slices.Reverse(wantLive)
		slices.Reverse(wantAcme)
		var late []string // incidents opened after a first page, newest first
		pages := func(q store.IncidentQuery) ([]string, int) {
			t.Helper()
			var got []string
			n := 0
			for {
				list, next, err := s.Incidents(q)
				if err != nil {
					t.Fatal(err)
				}
				n++
				if len(list) > q.Limit {
					t.Fatalf("a page of %d, over the limit of %d", len(list), q.Limit)
				}
				got = append(got, ids(list)...)
				if next == "" {
					return got, n
				}
				if n == 1 {
					// Opened after the first page, it is newer than
					// every later page.
					inc, evs := newIncident(len(late)+1, day0.AddDate(0, 0, 5), "late")
					put(t, s, inc, evs)
					defer func() { late = append([]string{inc.ID}, late...) }()
				}
				q.Cursor = next
			}
		}
		f := func(name string, q store.IncidentQuery, want []string, wantPages int) {
			t.Helper()
			got, n := pages(q)
			if !slices.Equal(got, want) || n != wantPages {
				t.Errorf("%s: %d pages of %v\nwant %d pages of %v", name, n, got, wantPages, want)
			}
		}
		f("everything by 4", store.IncidentQuery{Limit: 4}, want, 7)
		// One late incident now, then two, then three.
		f("everything by 9", store.IncidentQuery{Limit: 9}, append(slices.Clone(late), want...), 4)
		f("open or resolved by 5, the last page full", store.IncidentQuery{Limit: 5, States: []incident.State{incident.Open, incident.Resolved}},
			append(slices.Clone(late), wantLive...), 4)
		f("a client by 3, the last page full", store.IncidentQuery{Limit: 3, Client: "acme"}, wantAcme, 3)
		f("a client by 2", store.IncidentQuery{Limit: 2, Client: "acme"}, wantAcme, 5)
		f("one page", store.IncidentQuery{Limit: 100, Client: "acme"}, wantAcme, 1)
		if len(late) != 5 {
			t.Errorf("%d incidents opened between pages, want 5", len(late))
		}

		for _, cursor := range []string{"garbage", "INC-20261201-01", "incident:20261201:000001", "INC-20261201-00001"} {
			if _, _, err := s.Incidents(store.IncidentQuery{Cursor: cursor}); !errors.Is(err, store.ErrInvalid) {
				t.Errorf("cursor %q: %v, want ErrInvalid", cursor, err)
			}
		}
		if _, _, err := s.Incidents(store.IncidentQuery{States: []incident.State{"gone"}}); !errors.Is(err, store.ErrInvalid) {
			t.Errorf("an unknown state: %v, want ErrInvalid", err)
		}
	})
}

// Limit is DefaultIncidentLimit when 0 and MaxIncidentLimit at most.
func TestIncidentLimits(t *testing.T) {
	s := store.OpenMemory()
	defer s.Close()
	var batch []store.IncidentWrite
	for n := 1; n <= store.MaxIncidentLimit+1; n++ {
		inc, evs := newIncident(n, day0, "t")
		batch = append(batch, store.IncidentWrite{Incident: inc, Events: evs})
	}
	if err := s.PutIncidents(batch); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct{ limit, want int }{{0, store.DefaultIncidentLimit}, {-1, store.DefaultIncidentLimit}, {5000, store.MaxIncidentLimit}} {
		list, next, err := s.Incidents(store.IncidentQuery{Limit: c.limit})
		if err != nil || len(list) != c.want || next != list[len(list)-1].ID {
			t.Errorf("limit %d: %d incidents, next %q, %v; want %d", c.limit, len(list), next, err, c.want)
		}
	}
}

func TestLastIncidentNumber(t *testing.T) {
	backends(t, func(t *testing.T, s *store.Store) {
		f := func(day string, want int) {
			t.Helper()
			if n, err := s.LastIncidentNumber(day); err != nil || n != want {
				t.Errorf("LastIncidentNumber(%s) = %d, %v; want %d", day, n, err, want)
			}
		}
		f("20261201", 0)
		var batch []store.IncidentWrite
		for _, n := range []int{3, 17, 1} {
			inc, evs := newIncident(n, day0, "t")
			batch = append(batch, store.IncidentWrite{Incident: inc, Events: evs})
		}
		for _, n := range []int{9999, 12345, 10000} {
			inc, evs := newIncident(n, day0.AddDate(0, 0, 2), "t")
			batch = append(batch, store.IncidentWrite{Incident: inc, Events: evs})
		}
		if err := s.PutIncidents(batch); err != nil {
			t.Fatal(err)
		}
		f("20261201", 17)
		f("20261202", 0)
		f("20261203", 12345)
		f("20261130", 0)
		if got, err := s.Incident("INC-20261203-12345"); err != nil || got.ID != "INC-20261203-12345" {
			t.Errorf("the 12345th incident of a day reads %+v, %v", got, err)
		}
		for _, day := range []string{"", "2026121", "20261232", "2026-12-01", "20261201:"} {
			if _, err := s.LastIncidentNumber(day); !errors.Is(err, store.ErrInvalid) {
				t.Errorf("LastIncidentNumber(%q): %v, want ErrInvalid", day, err)
			}
		}
	})
}

func TestLiveIncidents(t *testing.T) {
	backends(t, func(t *testing.T, s *store.Store) {
		if live, err := s.LiveIncidents(); err != nil || len(live) != 0 {
			t.Errorf("a new store's live incidents: %v, %v", live, err)
		}
		var batch []store.IncidentWrite
		var want []string
		for i, st := range []incident.State{incident.Resolved, incident.Closed, incident.Open, incident.Open, incident.Closed, incident.Resolved} {
			inc, evs := newIncident(10-i, day0.AddDate(0, 0, i/2), "t")
			inc.State = st
			batch = append(batch, store.IncidentWrite{Incident: inc, Events: evs})
			if st != incident.Closed {
				want = append(want, inc.ID)
			}
		}
		if err := s.PutIncidents(batch); err != nil {
			t.Fatal(err)
		}
		slices.Sort(want) // of 4-digit numbers, IDs sort as their keys
		live, err := s.LiveIncidents()
		if err != nil || !slices.Equal(ids(live), want) {
			t.Errorf("LiveIncidents = %v, %v; want %v", ids(live), err, want)
		}
	})
}

func TestSnoozes(t *testing.T) {
	backends(t, func(t *testing.T, s *store.Store) {
		sn := func(path, by string) incident.Snooze {
			return incident.Snooze{Target: path, By: by, Reason: "deploy", At: day0, Until: day0.Add(time.Hour), Severity: rules.Warning}
		}
		a, b := sn("emea/oms-1/cpu/cpu/total/utilisation", "bob"), sn("emea/fix 2:a/fix/*?", "bob")
		for _, x := range []incident.Snooze{a, b} {
			if err := s.PutSnooze(x, incAudit(store.AuditCellSnooze, x.Target, day0)); err != nil {
				t.Fatal(err)
			}
		}
		a2 := sn(a.Target, "carol")
		a2.UntilChange = true
		if err := s.PutSnooze(a2, incAudit(store.AuditCellSnooze, a.Target, day0)); err != nil {
			t.Fatal(err)
		}
		if got, err := s.Snoozes(); err != nil || !reflect.DeepEqual(got, []incident.Snooze{b, a2}) {
			t.Errorf("Snoozes = %+v, %v\nwant %+v", got, err, []incident.Snooze{b, a2})
		}
		if err := s.DeleteSnooze(b.Target, incAudit(store.AuditCellUnsnooze, b.Target, day0)); err != nil {
			t.Fatal(err)
		}
		if err := s.DeleteSnooze("emea/none", incAudit(store.AuditCellUnsnooze, "emea/none", day0)); err != nil {
			t.Errorf("deleting a snooze that is not there: %v", err)
		}
		if got, err := s.Snoozes(); err != nil || !reflect.DeepEqual(got, []incident.Snooze{a2}) {
			t.Errorf("after the delete, Snoozes = %+v, %v", got, err)
		}
		if got := store.Keys(s, "snooze:"); !slices.Equal(got, []string{"snooze:emea%2Foms-1%2Fcpu%2Fcpu%2Ftotal%2Futilisation"}) {
			t.Errorf("snooze keys %q", got)
		}
		entries, _, err := s.Query(store.AuditQuery{Action: "cell."})
		if err != nil || len(entries) != 5 {
			t.Errorf("%d cell audit entries, %v; want 5", len(entries), err)
		}
		for _, bad := range []string{"", "INC-20261201-0001"} {
			if err := s.PutSnooze(sn(bad, "bob")); !errors.Is(err, store.ErrInvalid) {
				t.Errorf("PutSnooze(%q): %v, want ErrInvalid", bad, err)
			}
			if err := s.DeleteSnooze(bad); !errors.Is(err, store.ErrInvalid) {
				t.Errorf("DeleteSnooze(%q): %v, want ErrInvalid", bad, err)
			}
		}
	})
}

func TestExpireIncidents(t *testing.T) {
	backends(t, func(t *testing.T, s *store.Store) {
		cut := day0.AddDate(0, 0, 30)
		var batch []store.IncidentWrite
		var kept []incident.Incident
		add := func(n int, keep bool, edit func(inc *incident.Incident)) {
			inc, evs := newIncident(n, day0, "t")
			inc.Client = fmt.Sprintf("client-%d", n%2)
			evs = append(evs, event(&inc, day0, incident.EvComment, "c")...)
			edit(&inc)
			batch = append(batch, store.IncidentWrite{Incident: inc, Events: evs})
			if keep {
				kept = append(kept, inc)
			}
		}
		closedAt := func(at time.Time) func(inc *incident.Incident) {
			return func(inc *incident.Incident) {
				inc.State, inc.Resolved, inc.Closed = incident.Closed, day0, at
			}
		}
		resolvedAt := func(at time.Time) func(inc *incident.Incident) {
			return func(inc *incident.Incident) { inc.State, inc.Resolved = incident.Resolved, at }
		}
		add(1, false, closedAt(cut.Add(-time.Nanosecond)))
		add(2, true, closedAt(cut))
		add(3, true, closedAt(cut.Add(time.Hour)))
		add(4, false, resolvedAt(cut.AddDate(0, 0, -1)))
		add(5, true, resolvedAt(cut))
		add(6, true, func(*incident.Incident) {}) // open since long before the cut
		add(7, false, closedAt(day0))
		// Enough to take several transactions, between those it keeps.
		for n := 100; n < 2600; n++ {
			if n%10 == 0 {
				add(n, true, closedAt(cut.Add(time.Minute)))
			} else {
				add(n, false, closedAt(cut.AddDate(0, 0, -1-n%3)))
			}
		}
		if err := s.PutIncidents(batch); err != nil {
			t.Fatal(err)
		}
		n, err := s.ExpireIncidents(cut)
		if err != nil || n != len(batch)-len(kept) {
			t.Errorf("ExpireIncidents = %d, %v; want %d", n, err, len(batch)-len(kept))
		}
		// What remains is the kept incidents' keys, and no other.
		var want []string
		for _, inc := range kept {
			key := keyOf(inc.ID)
			want = append(want, "incident:"+key, "incev:"+key+":00000001", "incev:"+key+":00000002",
				"incidx:state:"+string(inc.State)+":"+key, "incidx:client:"+inc.Client+":"+key)
		}
		slices.Sort(want)
		got := incidentKeys(s)
		slices.Sort(got)
		if !slices.Equal(got, want) {
			t.Errorf("after expiry %d keys remain, want %d; first %q\nwant %q", len(got), len(want), got[:min(len(got), 10)], want[:10])
		}
		for _, inc := range kept[:6] {
			if _, err := s.Incident(inc.ID); err != nil {
				t.Errorf("kept %s: %v", inc.ID, err)
			}
		}
		if n, err := s.ExpireIncidents(cut); err != nil || n != 0 {
			t.Errorf("expiring again: %d, %v; want none", n, err)
		}
	})
}

// A schema 2 store (a schema 3 one with its version set back, as this
// build holds no other) opens, keeps what it has and takes incidents.
func TestSchemaTwoMigrates(t *testing.T) {
	s, path := open(t)
	if err := s.AddUser(alice(), audit(store.AuditUserAdd, "alice")); err != nil {
		t.Fatal(err)
	}
	closeStore(t, s)
	writeRaw(t, path, "meta:schema", "2")
	waitBuntStopped(t)

	s, err := store.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	if u, err := s.User("alice"); err != nil || !reflect.DeepEqual(u, alice()) {
		t.Errorf("the schema 2 user reads %+v, %v", u, err)
	}
	inc, evs := newIncident(1, day0, "t")
	put(t, s, inc, evs)
	if got, err := s.Incident(inc.ID); err != nil || got.ID != inc.ID {
		t.Errorf("a migrated store's incident reads %+v, %v", got, err)
	}
	closeStore(t, s)
	db, err := buntdb.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	var v string
	db.View(func(tx *buntdb.Tx) error { v, err = tx.Get("meta:schema"); return err })
	db.Close()
	waitBuntStopped(t)
	if err != nil || v != strconv.Itoa(store.SchemaVersion) {
		t.Errorf("after opening, meta:schema = %q, %v; want %d", v, err, store.SchemaVersion)
	}
}

// A command that snoozes a cell and writes its incidents' events stores
// both in one transaction: a refused incident leaves the snooze unwritten
// too, and an accepted one writes both, with the audit entry.
func TestIncidentChangesWriteWhole(t *testing.T) {
	backends(t, func(t *testing.T, s *store.Store) {
		inc, evs := newIncident(7, day0, "latency")
		put(t, s, inc, evs)
		sn := incident.Snooze{Target: "emea/oms-1/orders/orders/A/latency", By: "bob", Reason: "vendor fix", At: day0, Until: day0.Add(time.Hour)}
		bad := store.IncidentWrite{Incident: inc, Events: []incident.Event{{Incident: "INC-20261201-0008", Seq: 2}}}
		if err := s.PutIncidentChanges(store.IncidentChanges{Incidents: []store.IncidentWrite{bad}, Snoozes: []incident.Snooze{sn}}); !errors.Is(err, store.ErrInvalid) {
			t.Fatalf("a bad event with a snooze: %v, want ErrInvalid", err)
		}
		if got, _ := s.Snoozes(); len(got) != 0 {
			t.Fatalf("the refused write's snooze was stored: %+v", got)
		}
		more := event(&inc, day0.Add(time.Minute), incident.EvSnoozed, "the cell is snoozed")
		if err := s.PutIncidentChanges(store.IncidentChanges{Incidents: []store.IncidentWrite{{Incident: inc, Events: more}}, Snoozes: []incident.Snooze{sn}},
			incAudit(store.AuditCellSnooze, sn.Target, day0)); err != nil {
			t.Fatal(err)
		}
		if got, _ := s.Snoozes(); !reflect.DeepEqual(got, []incident.Snooze{sn}) {
			t.Fatalf("snoozes %+v", got)
		}
		if _, tl, _ := s.Timeline(inc.ID); len(tl) != len(evs)+1 {
			t.Fatalf("timeline %+v", tl)
		}
		if err := s.PutIncidentChanges(store.IncidentChanges{Unsnoozed: []string{sn.Target}}); err != nil {
			t.Fatal(err)
		}
		if got, _ := s.Snoozes(); len(got) != 0 {
			t.Fatalf("after unsnoozing: %+v", got)
		}
	})
}
