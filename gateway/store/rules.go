package store

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/watchfloor/watchfloor/rules"
)

// Action is what made a version of a rule.
type Action string

// Actions.
const (
	Create Action = "create"
	Update Action = "update"
	Delete Action = "delete"
	// Revert makes a rule's definition one of its earlier versions', and
	// revives a deleted rule.
	Revert Action = "revert"
	// Copy makes a new rule from another's definition.
	Copy Action = "copy"
)

// Version checks for Edit.Expect and DeleteRule.
const (
	// NewRule expects the name to be free: never used, or deleted.
	NewRule = -1
	// AnyVersion checks no version.
	AnyVersion = 0
)

// RuleVersion is one version of a rule authored through the API. A rule's
// versions count from 1; a deletion is a version too, whose Def is the
// definition it deleted, so the history stays whole.
type RuleVersion struct {
	Name    string `json:"name"`
	Version int    `json:"version"`
	Action  Action `json:"action"`
	// From is what a revert restored (the version, as "3") or a copy
	// copied (the rule's name).
	From string `json:"from,omitempty"`
	// Change says in one line what changed from the previous version:
	// "critical.when: value > 90 → value > 95; warning added".
	Change string    `json:"change"`
	Author string    `json:"author"`
	Time   time.Time `json:"time"`
	Def    rules.Def `json:"def"`
}

// Deleted reports whether the version deleted its rule.
func (v RuleVersion) Deleted() bool { return v.Action == Delete }

// Edit is a change to one rule for PutRule.
type Edit struct {
	// Def is the rule's new definition; its Name is the rule's.
	Def    rules.Def
	Action Action // Create, Update, Revert or Copy
	// From is what Revert restores (the version, as "3") or Copy copies
	// (the rule's name), recorded in the version.
	From   string
	Author string
	// Kind is the author's kind (person, kiosk, anonymous) and Source
	// the client's address, for the audit entry written with the
	// version; an empty Kind records "person".
	Kind   string
	Source string
	At     time.Time
	// Expect is the version the rule must be at for the edit to be made:
	// a version (ErrConflict otherwise), NewRule or AnyVersion. Create and
	// Copy always need the name free (ErrExists otherwise); Update needs a
	// rule that is not deleted and Revert one with a history (ErrNotFound
	// otherwise).
	Expect int
}

// Deletion is a rule's deletion for DeleteRule: who deletes it, from
// where and when, and the version it must be at.
type Deletion struct {
	Author string
	// Kind and Source are as in Edit.
	Kind   string
	Source string
	At     time.Time
	// Expect is the version the rule must be at, or AnyVersion.
	Expect int
}

// head is a rule's current version.
type head struct {
	Version int  `json:"version"`
	Deleted bool `json:"deleted,omitempty"`
}

const rulePrefix = "rule:"

func headKey(name string) string { return rulePrefix + name + ":head" }

func versionPrefix(name string) string { return rulePrefix + name + ":v:" }

func versionKey(name string, v int) string { return fmt.Sprintf("%s%08d", versionPrefix(name), v) }

// checkName refuses a name the key layout cannot hold. The rules package
// allows far fewer; this only keeps one rule's keys apart from another's.
func checkName(name string) error {
	if name == "" || strings.ContainsAny(name, ":*?") {
		return fmt.Errorf("rule name %q cannot be stored", name)
	}
	return nil
}

// PutRule stores e.Def as the rule's next version, in one transaction that
// writes the version, moves the head and records the audit entry
// ("rule.create" and so on), and returns the version. On any error
// nothing is written.
func (s *Store) PutRule(e Edit) (RuleVersion, error) {
	name := e.Def.Name
	if err := checkName(name); err != nil {
		return RuleVersion{}, err
	}
	var out RuleVersion
	err := s.kv.update(func(tx txn) error {
		h, exists, err := readHead(tx, name)
		if err != nil {
			return err
		}
		free := !exists || h.Deleted
		switch {
		case (e.Action == Create || e.Action == Copy || e.Expect == NewRule) && !free:
			return fmt.Errorf("rule %s: %w (version %d)", name, ErrExists, h.Version)
		case e.Action == Update && free, e.Action == Revert && !exists:
			return fmt.Errorf("rule %s: %w", name, ErrNotFound)
		case e.Expect > 0 && h.Version != e.Expect:
			return fmt.Errorf("rule %s is at version %d, not %d: %w", name, h.Version, e.Expect, ErrConflict)
		}
		switch e.Action {
		case Create, Update, Revert, Copy:
		default:
			return fmt.Errorf("rule %s: PutRule cannot %q", name, e.Action)
		}
		var prev *rules.Def
		if !free {
			pv, err := readVersion(tx, name, h.Version)
			if err != nil {
				return err
			}
			prev = &pv.Def
		}
		out = RuleVersion{
			Name: name, Version: h.Version + 1, Action: e.Action, From: e.From,
			Change: summary(prev, e.Def, e.Action, e.From), Author: e.Author, Time: e.At, Def: e.Def,
		}.normal()
		if err := write(tx, out); err != nil {
			return err
		}
		return s.putAudit(tx, []Audit{ruleAudit(out, e.Kind, e.Source)})
	})
	if err != nil {
		return RuleVersion{}, err
	}
	return out, nil
}

// DeleteRule deletes a rule as a version of its own, keeping its history,
// in one transaction with its audit entry ("rule.delete").
func (s *Store) DeleteRule(name string, d Deletion) (RuleVersion, error) {
	if err := checkName(name); err != nil {
		return RuleVersion{}, err
	}
	var out RuleVersion
	err := s.kv.update(func(tx txn) error {
		h, exists, err := readHead(tx, name)
		switch {
		case err != nil:
			return err
		case !exists || h.Deleted:
			return fmt.Errorf("rule %s: %w", name, ErrNotFound)
		case d.Expect > 0 && h.Version != d.Expect:
			return fmt.Errorf("rule %s is at version %d, not %d: %w", name, h.Version, d.Expect, ErrConflict)
		}
		pv, err := readVersion(tx, name, h.Version)
		if err != nil {
			return err
		}
		out = RuleVersion{
			Name: name, Version: h.Version + 1, Action: Delete, Change: "deleted",
			Author: d.Author, Time: d.At, Def: pv.Def,
		}.normal()
		if err := write(tx, out); err != nil {
			return err
		}
		return s.putAudit(tx, []Audit{ruleAudit(out, d.Kind, d.Source)})
	})
	if err != nil {
		return RuleVersion{}, err
	}
	return out, nil
}

// ruleAudit is the audit entry for a version of a rule.
func ruleAudit(v RuleVersion, kind, source string) Audit {
	if kind == "" {
		kind = "person"
	}
	return Audit{
		Time: v.Time, Who: v.Author, Kind: kind, Source: source, Action: "rule." + string(v.Action),
		Target: v.Name, OK: true, Detail: fmt.Sprintf("version %d: %s", v.Version, v.Change),
	}
}

// normal is v as it reads back from the store.
func (v RuleVersion) normal() RuleVersion {
	v.Time = v.Time.UTC().Round(0)
	return v
}

func write(tx txn, v RuleVersion) error {
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("rule %s: encode version %d: %w", v.Name, v.Version, err)
	}
	if err := tx.set(versionKey(v.Name, v.Version), string(b)); err != nil {
		return err
	}
	hb, _ := json.Marshal(head{Version: v.Version, Deleted: v.Deleted()})
	return tx.set(headKey(v.Name), string(hb))
}

func readHead(tx txn, name string) (head, bool, error) {
	text, ok, err := tx.get(headKey(name))
	if err != nil || !ok {
		return head{}, false, err
	}
	var h head
	if err := json.Unmarshal([]byte(text), &h); err != nil {
		return head{}, false, fmt.Errorf("rule %s: read its head: %w", name, err)
	}
	return h, true, nil
}

func readVersion(tx txn, name string, v int) (RuleVersion, error) {
	text, ok, err := tx.get(versionKey(name, v))
	switch {
	case err != nil:
		return RuleVersion{}, err
	case !ok:
		return RuleVersion{}, fmt.Errorf("rule %s version %d: %w", name, v, ErrNotFound)
	}
	return decodeVersion(versionKey(name, v), text)
}

func decodeVersion(key, text string) (RuleVersion, error) {
	var rv RuleVersion
	if err := json.Unmarshal([]byte(text), &rv); err != nil {
		return RuleVersion{}, fmt.Errorf("read %s: %w", key, err)
	}
	return rv, nil
}

// Rule returns the current version of a rule that is not deleted.
func (s *Store) Rule(name string) (RuleVersion, error) {
	var out RuleVersion
	err := s.kv.view(func(tx txn) error {
		h, ok, err := readHead(tx, name)
		switch {
		case err != nil:
			return err
		case !ok:
			return fmt.Errorf("rule %s: %w", name, ErrNotFound)
		case h.Deleted:
			return fmt.Errorf("rule %s: %w (deleted at version %d)", name, ErrNotFound, h.Version)
		}
		out, err = readVersion(tx, name, h.Version)
		return err
	})
	return out, err
}

// Current returns the current version of every rule that is not deleted,
// sorted by name.
func (s *Store) Current() ([]RuleVersion, error) {
	var out []RuleVersion
	err := s.kv.view(func(tx txn) error {
		var heads []string
		var hs []head
		var bad error
		err := tx.ascend(rulePrefix, func(k, v string) bool {
			name, ok := strings.CutSuffix(strings.TrimPrefix(k, rulePrefix), ":head")
			if !ok || strings.Contains(name, ":") {
				return true
			}
			var h head
			if err := json.Unmarshal([]byte(v), &h); err != nil {
				bad = fmt.Errorf("read %s: %w", k, err)
				return false
			}
			if !h.Deleted {
				heads, hs = append(heads, name), append(hs, h)
			}
			return true
		})
		if err != nil {
			return err
		}
		if bad != nil {
			return bad
		}
		for i, name := range heads {
			rv, err := readVersion(tx, name, hs[i].Version)
			if err != nil {
				return err
			}
			out = append(out, rv)
		}
		return nil
	})
	slices.SortFunc(out, func(a, b RuleVersion) int { return strings.Compare(a.Name, b.Name) })
	return out, err
}

// Rules returns the definitions of the rules that are not deleted, sorted
// by name.
func (s *Store) Rules() ([]rules.Def, error) {
	cur, err := s.Current()
	if err != nil {
		return nil, err
	}
	defs := make([]rules.Def, len(cur))
	for i, v := range cur {
		defs[i] = v.Def
	}
	return defs, nil
}

// History returns every version of a rule, oldest first, deleted ones
// included.
func (s *Store) History(name string) ([]RuleVersion, error) {
	if err := checkName(name); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrNotFound, err)
	}
	var out []RuleVersion
	err := s.kv.view(func(tx txn) error {
		var bad error
		err := tx.ascend(versionPrefix(name), func(k, v string) bool {
			rv, err := decodeVersion(k, v)
			if err != nil {
				bad = err
				return false
			}
			out = append(out, rv)
			return true
		})
		if err != nil {
			return err
		}
		return bad
	})
	if err != nil {
		return nil, err
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("rule %s: %w", name, ErrNotFound)
	}
	slices.SortFunc(out, func(a, b RuleVersion) int { return a.Version - b.Version })
	return out, nil
}

// Version returns one version of a rule.
func (s *Store) Version(name string, v int) (RuleVersion, error) {
	if err := checkName(name); err != nil {
		return RuleVersion{}, fmt.Errorf("%w: %w", ErrNotFound, err)
	}
	var out RuleVersion
	err := s.kv.view(func(tx txn) error {
		var err error
		out, err = readVersion(tx, name, v)
		return err
	})
	return out, err
}
