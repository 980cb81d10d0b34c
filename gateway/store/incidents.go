package store

import (
	"encoding/json"
	"fmt"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/watchfloor/watchfloor/gateway/incident"
	"github.com/watchfloor/watchfloor/rules"
)

const (
	incidentPrefix = "incident:"
	eventPrefix    = "incev:"
	indexPrefix    = "incidx:"
	stateIndex     = indexPrefix + "state:"
	clientIndex    = indexPrefix + "client:"
	snoozePrefix   = "snooze:"
	// maxIncidentNumber bounds an incident's number on its day: its keys
	// hold 6 digits.
	maxIncidentNumber = 999_999
	// DefaultIncidentLimit and MaxIncidentLimit bound what one Incidents
	// query returns.
	DefaultIncidentLimit = 100
	MaxIncidentLimit     = 1000
	// expireScan is how many index keys ExpireIncidents reads per
	// transaction, and expireIncidents how many incidents it deletes at
	// most, each with its timeline: retention never holds the file in
	// one huge transaction.
	expireScan      = 10_000
	expireIncidents = 1000
)

// ref is the end every key of one incident shares, "<day>:<n>" with n
// zero-padded to 6 digits: refs sort as the incidents' IDs do, by day and
// number.
type ref string

func refOf(day string, n int) ref { return ref(fmt.Sprintf("%s:%06d", day, n)) }

// id is the incident's ID, as the Book gives it.
func (r ref) id() string {
	day, num, _ := strings.Cut(string(r), ":")
	n, _ := strconv.Atoi(num)
	return fmt.Sprintf("INC-%s-%04d", day, n)
}

func incidentKey(r ref) string { return incidentPrefix + string(r) }

func eventsPrefix(r ref) string { return eventPrefix + string(r) + ":" }

func eventKey(r ref, seq int) string { return fmt.Sprintf("%s%08d", eventsPrefix(r), seq) }

func statePrefix(st incident.State) string { return stateIndex + string(st) + ":" }

// clientPrefix is the start of a client's index keys. The client is
// query-escaped, unlike path-escaped, so that a ':' in it is escaped too:
// client "a" must not find client "a:b".
func clientPrefix(client string) string { return clientIndex + url.QueryEscape(client) + ":" }

// indexKeys are the index keys of inc, at r.
func indexKeys(inc incident.Incident, r ref) []string {
	keys := []string{statePrefix(inc.State) + string(r)}
	if inc.Client != "" {
		keys = append(keys, clientPrefix(inc.Client)+string(r))
	}
	return keys
}

// parseID splits an incident ID, "INC-20261201-0042", into its UTC day
// and its number on that day: 4 digits, more only past 9999, and at most
// maxIncidentNumber. Anything else is ErrInvalid, so that two IDs never
// share keys.
func parseID(id string) (day string, n int, err error) {
	rest, ok := strings.CutPrefix(id, "INC-")
	if ok && len(rest) >= 8+1+4 && rest[8] == '-' && checkDay(rest[:8]) == nil {
		day = rest[:8]
		num := rest[9:]
		n, err = strconv.Atoi(num)
		if err == nil && n >= 1 && n <= maxIncidentNumber && num == fmt.Sprintf("%04d", n) {
			return day, n, nil
		}
	}
	return "", 0, fmt.Errorf("incident ID %q is not of the form INC-20261201-0042: %w", id, ErrInvalid)
}

// checkDay refuses anything but a UTC date as an ID holds it, "20261201".
func checkDay(day string) error {
	if len(day) == 8 && strings.Trim(day, "0123456789") == "" {
		if _, err := time.Parse("20060102", day); err == nil {
			return nil
		}
	}
	return fmt.Errorf("day %q is not a date of the form 20261201: %w", day, ErrInvalid)
}

func checkState(st incident.State) error {
	switch st {
	case incident.Open, incident.Resolved, incident.Closed:
		return nil
	}
	return fmt.Errorf("incident state %q: %w", st, ErrInvalid)
}

// IncidentWrite is one incident for PutIncidents: its head as it is now,
// and the events on its timeline since it was last written.
type IncidentWrite struct {
	Incident incident.Incident
	// Events are appended to its timeline, each at its Seq: they are the
	// incident's (Event.Incident is its ID), and their Seq is at most its
	// Events, the length of its timeline.
	Events []incident.Event
}

// checkWrite refuses a write the keys cannot hold, or whose events are not
// its incident's, and returns where the incident goes.
func checkWrite(w IncidentWrite) (ref, error) {
	inc := w.Incident
	day, n, err := parseID(inc.ID)
	if err != nil {
		return "", err
	}
	if err := checkState(inc.State); err != nil {
		return "", fmt.Errorf("incident %s: %w", inc.ID, err)
	}
	for _, e := range w.Events {
		switch {
		case e.Incident != inc.ID:
			return "", fmt.Errorf("incident %s: an event of incident %q: %w", inc.ID, e.Incident, ErrInvalid)
		case e.Seq < 1 || e.Seq > inc.Events || e.Seq >= maxSeq:
			return "", fmt.Errorf("incident %s has %d events, not one at %d: %w", inc.ID, inc.Events, e.Seq, ErrInvalid)
		}
	}
	return refOf(day, n), nil
}

// PutIncidents writes a batch of incidents in one transaction with the
// audit entries: each incident's head, its new events and its index keys
// (moved when its state or client changed). An event at a place on the
// timeline that another has is ErrConflict; on any error nothing is
// written.
func (s *Store) PutIncidents(batch []IncidentWrite, audit ...Audit) error {
	return s.PutIncidentChanges(IncidentChanges{Incidents: batch}, audit...)
}

// IncidentChanges are what one command or one batch of transitions
// changed: incidents, and cells' snoozes set (Snoozes) and ended
// (Unsnoozed, their paths).
type IncidentChanges struct {
	Incidents []IncidentWrite
	Snoozes   []incident.Snooze
	Unsnoozed []string
}

// PutIncidentChanges writes changes in one transaction with the audit
// entries, as PutIncidents, PutSnooze and DeleteSnooze would apart: on
// any error nothing is written.
func (s *Store) PutIncidentChanges(c IncidentChanges, audit ...Audit) error {
	refs := make([]ref, len(c.Incidents))
	for i, w := range c.Incidents {
		r, err := checkWrite(w)
		if err != nil {
			return err
		}
		refs[i] = r
	}
	for _, sn := range c.Snoozes {
		if err := checkSnoozePath(sn.Target); err != nil {
			return err
		}
	}
	for _, path := range c.Unsnoozed {
		if err := checkSnoozePath(path); err != nil {
			return err
		}
	}
	return s.kv.update(func(tx txn) error {
		for _, path := range c.Unsnoozed {
			if err := tx.delete(snoozeKey(path)); err != nil {
				return err
			}
		}
		for _, sn := range c.Snoozes {
			if err := writeJSON(tx, snoozeKey(sn.Target), sn); err != nil {
				return err
			}
		}
		for i, w := range c.Incidents {
			if err := putIncident(tx, refs[i], w); err != nil {
				return err
			}
		}
		return s.putAudit(tx, audit)
	})
}

func putIncident(tx txn, r ref, w IncidentWrite) error {
	inc := w.Incident
	old, exists, err := readIncident(tx, r)
	if err != nil {
		return err
	}
	var had []string
	if exists {
		had = indexKeys(old, r)
	}
	keys := indexKeys(inc, r)
	for _, k := range had {
		if !slices.Contains(keys, k) {
			if err := tx.delete(k); err != nil {
				return err
			}
		}
	}
	for _, k := range keys {
		if !slices.Contains(had, k) {
			if err := tx.set(k, ""); err != nil {
				return err
			}
		}
	}
	if err := writeJSON(tx, incidentKey(r), inc); err != nil {
		return err
	}
	for _, e := range w.Events {
		k := eventKey(r, e.Seq)
		_, taken, err := tx.get(k)
		switch {
		case err != nil:
			return err
		case taken:
			return fmt.Errorf("incident %s: event %d is on its timeline already: %w", inc.ID, e.Seq, ErrConflict)
		}
		if err := writeJSON(tx, k, e); err != nil {
			return err
		}
	}
	return nil
}

func readIncident(tx txn, r ref) (incident.Incident, bool, error) {
	text, ok, err := tx.get(incidentKey(r))
	if err != nil || !ok {
		return incident.Incident{}, false, err
	}
	var inc incident.Incident
	if err := json.Unmarshal([]byte(text), &inc); err != nil {
		return incident.Incident{}, false, fmt.Errorf("read %s: %w", incidentKey(r), err)
	}
	return inc, true, nil
}

// indexed reads the incident an index key names, which must be there.
func indexed(tx txn, r ref) (incident.Incident, error) {
	inc, ok, err := readIncident(tx, r)
	if err == nil && !ok {
		err = fmt.Errorf("an index names incident %s, which the store does not hold", r.id())
	}
	return inc, err
}

// Incident returns a stored incident.
func (s *Store) Incident(id string) (incident.Incident, error) {
	day, n, err := parseID(id)
	if err != nil {
		return incident.Incident{}, fmt.Errorf("%w: %w", ErrNotFound, err)
	}
	var out incident.Incident
	err = s.kv.view(func(tx txn) error {
		inc, ok, err := readIncident(tx, refOf(day, n))
		switch {
		case err != nil:
			return err
		case !ok:
			return fmt.Errorf("incident %s: %w", id, ErrNotFound)
		}
		out = inc
		return nil
	})
	return out, err
}

// Timeline returns a stored incident with its events in Seq order, read
// in one transaction so the two agree.
func (s *Store) Timeline(id string) (incident.Incident, []incident.Event, error) {
	day, n, err := parseID(id)
	if err != nil {
		return incident.Incident{}, nil, fmt.Errorf("%w: %w", ErrNotFound, err)
	}
	r := refOf(day, n)
	var (
		inc incident.Incident
		out []incident.Event
	)
	err = s.kv.view(func(tx txn) error {
		var ok bool
		inc, ok, err = readIncident(tx, r)
		switch {
		case err != nil:
			return err
		case !ok:
			return fmt.Errorf("incident %s: %w", id, ErrNotFound)
		}
		out, err = readTimeline(tx, r)
		return err
	})
	return inc, out, err
}

func readTimeline(tx txn, r ref) ([]incident.Event, error) {
	return decodeAll[incident.Event](tx, eventsPrefix(r), "")
}

// refsUnder returns the refs of the index keys under prefix, in order.
func refsUnder(tx txn, prefix string) ([]ref, error) {
	var out []ref
	err := tx.ascend(prefix, func(k, _ string) bool {
		out = append(out, ref(k[len(prefix):]))
		return true
	})
	return out, err
}

// LiveIncidents returns every incident not closed (the open and the
// resolved ones), oldest first, by way of the state index: what the
// gateway's Book holds.
func (s *Store) LiveIncidents() ([]incident.Incident, error) {
	var out []incident.Incident
	err := s.kv.view(func(tx txn) error {
		var refs []ref
		for _, st := range []incident.State{incident.Open, incident.Resolved} {
			rs, err := refsUnder(tx, statePrefix(st))
			if err != nil {
				return err
			}
			refs = append(refs, rs...)
		}
		slices.Sort(refs)
		for _, r := range refs {
			inc, err := indexed(tx, r)
			if err != nil {
				return err
			}
			out = append(out, inc)
		}
		return nil
	})
	return out, err
}

// LastIncidentNumber returns the highest number of an incident stored for
// day, a UTC date as IDs hold it ("20261201"); 0 if there is none.
func (s *Store) LastIncidentNumber(day string) (int, error) {
	if err := checkDay(day); err != nil {
		return 0, err
	}
	prefix := incidentPrefix + day + ":"
	var last string
	err := s.kv.view(func(tx txn) error {
		return tx.descend(prefix, "", func(k, _ string) bool { last = k; return false })
	})
	if err != nil || last == "" {
		return 0, err
	}
	n, err := strconv.Atoi(last[len(prefix):])
	if err != nil {
		return 0, fmt.Errorf("read %s: not an incident's key", last)
	}
	return n, nil
}

// IncidentQuery selects incidents. Zero fields select everything.
type IncidentQuery struct {
	// States selects incidents in any of them.
	States []incident.State
	// Severity selects incidents whose Peak is at least it.
	Severity rules.Severity
	// Entity, Probe and Client select the incidents with exactly that
	// one.
	Entity, Probe, Client string
	// From and To select the incidents alive at some time between them,
	// both included: opened at To or before, and resolved (or closed, if
	// never resolved) at From or after. An open incident's life goes on.
	From, To time.Time
	// Text selects incidents with it in their ID, title, path, value,
	// rule or assignee, or in a comment on their timeline, whatever its
	// case.
	Text string
	// Limit is how many incidents to return at most: DefaultIncidentLimit
	// if 0, MaxIncidentLimit if more.
	Limit int
	// Cursor continues a query: the next cursor an earlier Incidents
	// returned.
	Cursor string
}

func (q IncidentQuery) matches(inc incident.Incident) bool {
	switch {
	case len(q.States) > 0 && !slices.Contains(q.States, inc.State),
		q.Severity != rules.Undefined && inc.Peak < q.Severity,
		q.Entity != "" && inc.Entity != q.Entity,
		q.Probe != "" && inc.Probe != q.Probe,
		q.Client != "" && inc.Client != q.Client,
		!q.To.IsZero() && inc.Opened.After(q.To):
		return false
	}
	if q.From.IsZero() || inc.State == incident.Open {
		return true
	}
	end := inc.Resolved
	if end.IsZero() {
		end = inc.Closed
	}
	return end.IsZero() || !end.Before(q.From)
}

// mentions reports whether the incident at r has text (in lower case) in
// one of the fields IncidentQuery.Text searches.
func mentions(tx txn, r ref, inc incident.Incident, text string) (bool, error) {
	for _, f := range []string{inc.ID, inc.Title, inc.Path, inc.Value, inc.Rule, inc.Assignee} {
		if strings.Contains(strings.ToLower(f), text) {
			return true, nil
		}
	}
	var found bool
	var bad error
	err := tx.ascend(eventsPrefix(r), func(k, v string) bool {
		var e incident.Event
		if err := json.Unmarshal([]byte(v), &e); err != nil {
			bad = fmt.Errorf("read %s: %w", k, err)
			return false
		}
		found = e.Kind == incident.EvComment && strings.Contains(strings.ToLower(e.Text), text)
		return !found
	})
	if err != nil {
		return false, err
	}
	return found, bad
}

// Incidents returns the incidents q selects, newest first (by ID), and a
// cursor for the next page: "" when there is no more. It walks the state
// index when q names states, and the client index when it names a
// client. A cursor that no query returned is ErrInvalid.
func (s *Store) Incidents(q IncidentQuery) ([]incident.Incident, string, error) {
	var below ref
	if q.Cursor != "" {
		day, n, err := parseID(q.Cursor)
		if err != nil {
			return nil, "", fmt.Errorf("incident cursor %q is not one a query returned: %w", q.Cursor, ErrInvalid)
		}
		below = refOf(day, n)
	}
	for _, st := range q.States {
		if err := checkState(st); err != nil {
			return nil, "", err
		}
	}
	switch {
	case q.Limit <= 0:
		q.Limit = DefaultIncidentLimit
	case q.Limit > MaxIncidentLimit:
		q.Limit = MaxIncidentLimit
	}
	var prefixes []string
	switch {
	case q.Client != "":
		prefixes = []string{clientPrefix(q.Client)}
	case len(q.States) > 0:
		for _, st := range q.States {
			if p := statePrefix(st); !slices.Contains(prefixes, p) {
				prefixes = append(prefixes, p)
			}
		}
	default:
		prefixes = []string{incidentPrefix}
	}
	text := strings.ToLower(q.Text)
	var out []incident.Incident
	var next string
	err := s.kv.view(func(tx txn) error {
		walk := newDescending(prefixes, below)
		var last ref
		for {
			r, err := walk.next(tx)
			if err != nil || r == "" {
				return err
			}
			inc, err := indexed(tx, r)
			if err != nil {
				return err
			}
			if !q.matches(inc) {
				continue
			}
			if text != "" {
				ok, err := mentions(tx, r, inc, text)
				if err != nil {
					return err
				}
				if !ok {
					continue
				}
			}
			if len(out) == q.Limit {
				next = last.id() // there is one more: the next page starts below the last
				return nil
			}
			out = append(out, inc)
			last = r
		}
	})
	if err != nil {
		return nil, "", err
	}
	return out, next, nil
}

// descending walks the keys under several prefixes, each key a prefix and
// a ref, as one list of refs in descending order, starting below a ref.
// It reads one key at a time, so a page of a query reads no more of an
// index than the page needs.
type descending struct {
	prefixes []string
	below    []string // per prefix, the key to go on below; "" for the top
	ahead    []ref    // per prefix, its next ref once read
	done     []bool   // per prefix, no more keys
}

func newDescending(prefixes []string, below ref) *descending {
	d := &descending{
		prefixes: prefixes,
		below:    make([]string, len(prefixes)),
		ahead:    make([]ref, len(prefixes)),
		done:     make([]bool, len(prefixes)),
	}
	if below != "" {
		for i, p := range prefixes {
			d.below[i] = p + string(below)
		}
	}
	return d
}

// next returns the next ref, "" when there is none.
func (d *descending) next(tx txn) (ref, error) {
	best := -1
	for i, p := range d.prefixes {
		if d.done[i] {
			continue
		}
		if d.ahead[i] == "" {
			var k string
			if err := tx.descend(p, d.below[i], func(key, _ string) bool { k = key; return false }); err != nil {
				return "", err
			}
			if k == "" {
				d.done[i] = true
				continue
			}
			d.below[i], d.ahead[i] = k, ref(k[len(p):])
		}
		if best < 0 || d.ahead[i] > d.ahead[best] {
			best = i
		}
	}
	if best < 0 {
		return "", nil
	}
	r := d.ahead[best]
	d.ahead[best] = ""
	return r, nil
}

// ExpireIncidents deletes the incidents past retention, each with its
// timeline and index keys: the closed ones closed before closedBefore, and
// the resolved ones resolved before it (nobody closed them, but they are
// as old). It works in transactions of at most 1,000 incidents, returns
// how many it deleted, and stops at the first failure, keeping what it
// had deleted.
func (s *Store) ExpireIncidents(closedBefore time.Time) (int, error) {
	total := 0
	for _, st := range []incident.State{incident.Closed, incident.Resolved} {
		after := ""
		for {
			n, last, err := s.expireSome(st, after, closedBefore)
			total += n
			if err != nil {
				return total, fmt.Errorf("expire incidents %s before %v: %w", st, closedBefore.UTC(), err)
			}
			if last == "" {
				break
			}
			after = last
		}
	}
	return total, nil
}

// expireSome deletes, in one transaction, the incidents past retention
// among those in state st whose index keys follow after. It returns how
// many it deleted and the last index key it went through, "" if none
// followed after.
func (s *Store) expireSome(st incident.State, after string, cut time.Time) (int, string, error) {
	prefix := statePrefix(st)
	var n int
	var last string
	err := s.kv.update(func(tx txn) error {
		n, last = 0, ""
		var keys []string
		err := tx.ascend(prefix, func(k, _ string) bool {
			if k <= after {
				return true
			}
			keys = append(keys, k)
			return len(keys) < expireScan
		})
		if err != nil {
			return err
		}
		for _, k := range keys {
			last = k
			r := ref(k[len(prefix):])
			inc, err := indexed(tx, r)
			if err != nil {
				return err
			}
			end := inc.Closed
			if st == incident.Resolved {
				end = inc.Resolved
			}
			if end.IsZero() || !end.Before(cut) {
				continue
			}
			if err := deleteIncident(tx, r, inc); err != nil {
				return err
			}
			n++
			if n == expireIncidents {
				break
			}
		}
		return nil
	})
	if err != nil {
		return 0, "", err
	}
	return n, last, nil
}

// deleteIncident deletes the incident at r, its timeline and its index
// keys.
func deleteIncident(tx txn, r ref, inc incident.Incident) error {
	keys := append(indexKeys(inc, r), incidentKey(r))
	if err := tx.ascend(eventsPrefix(r), func(k, _ string) bool { keys = append(keys, k); return true }); err != nil {
		return err
	}
	for _, k := range keys {
		if err := tx.delete(k); err != nil {
			return err
		}
	}
	return nil
}

func snoozeKey(path string) string { return snoozePrefix + url.QueryEscape(path) }

// checkSnoozePath refuses what is not a cell's path: an incident's snooze
// is kept in the incident.
func checkSnoozePath(path string) error {
	if path == "" {
		return fmt.Errorf("a cell's snooze without the cell's path: %w", ErrInvalid)
	}
	if _, _, err := parseID(path); err == nil {
		return fmt.Errorf("%s is an incident, whose snooze is kept in the incident: %w", path, ErrInvalid)
	}
	return nil
}

// PutSnooze stores the snooze of the cell at sn.Target, replacing the one
// it had, with the audit entries in the same transaction.
func (s *Store) PutSnooze(sn incident.Snooze, audit ...Audit) error {
	if err := checkSnoozePath(sn.Target); err != nil {
		return err
	}
	return s.kv.update(func(tx txn) error {
		if err := writeJSON(tx, snoozeKey(sn.Target), sn); err != nil {
			return err
		}
		return s.putAudit(tx, audit)
	})
}

// DeleteSnooze deletes the snooze of the cell at path, if it has one,
// and writes the audit entries, in one transaction.
func (s *Store) DeleteSnooze(path string, audit ...Audit) error {
	if err := checkSnoozePath(path); err != nil {
		return err
	}
	return s.kv.update(func(tx txn) error {
		if err := tx.delete(snoozeKey(path)); err != nil {
			return err
		}
		return s.putAudit(tx, audit)
	})
}

// Snoozes returns the snoozes of cells, sorted by path.
func (s *Store) Snoozes() ([]incident.Snooze, error) {
	var out []incident.Snooze
	err := s.kv.view(func(tx txn) (err error) {
		out, err = decodeAll[incident.Snooze](tx, snoozePrefix, "")
		return err
	})
	slices.SortFunc(out, func(a, b incident.Snooze) int { return strings.Compare(a.Target, b.Target) })
	return out, err
}
