package store

import (
	"encoding/json"
	"fmt"
	"strings"
	"time"
)

// Audit actions: what an Audit entry records. A dotted action belongs to
// the family before its last dot, and queries can ask for a family
// ("login." is login, login.failed and login.slowed).
//
// A session that ends because it was idle or too old is not audited: that
// is the ordinary end of every session, and an entry per session would
// bury what matters. Ending a session on purpose is (logout, session.end,
// and the changes to a user that end its sessions).
const (
	AuditLogin       = "login"        // a person logged in (password or one-time link)
	AuditLoginFailed = "login.failed" // a wrong user name or password, a disabled account, a used link
	// AuditLoginSlowed: logins for a user name or from an address were
	// refused without checking the password, until a wait after repeated
	// failures is over; recorded once per wait, not per refused attempt.
	AuditLoginSlowed = "login.slowed"
	AuditLogout      = "logout"
	AuditSessionEnd  = "session.end" // an administrator ended someone's session

	AuditUserAdd      = "user.add"
	AuditUserUpdate   = "user.update" // roles or scope changed
	AuditUserPassword = "user.password"
	AuditUserDisable  = "user.disable"
	AuditUserEnable   = "user.enable"

	AuditKioskIssue  = "kiosk.issue"
	AuditKioskRevoke = "kiosk.revoke"

	// Rule edits through the API: "rule." and the version's Action.
	AuditRuleCreate = "rule." + string(Create)
	AuditRuleUpdate = "rule." + string(Update)
	AuditRuleDelete = "rule." + string(Delete)
	AuditRuleRevert = "rule." + string(Revert)
	AuditRuleCopy   = "rule." + string(Copy)

	AuditConfigReload       = "config.reload"
	AuditConfigReloadFailed = "config.reload.failed"

	// People's commands on incidents, with the incident's ID as Target.
	AuditIncidentRaise    = "incident.raise"
	AuditIncidentAck      = "incident.ack"
	AuditIncidentUnack    = "incident.unack"
	AuditIncidentAssign   = "incident.assign"
	AuditIncidentComment  = "incident.comment"
	AuditIncidentSnooze   = "incident.snooze"
	AuditIncidentUnsnooze = "incident.unsnooze"
	AuditIncidentImpact   = "incident.impact"
	AuditIncidentResolve  = "incident.resolve"
	AuditIncidentClose    = "incident.close"
	AuditIncidentUpdate   = "incident.update" // a client update recorded
	AuditIncidentNotice   = "incident.notice" // a notice to the client edited or sent
	AuditIncidentReport   = "incident.report"

	// Snoozes of cells, with the cell's path as Target.
	AuditCellSnooze   = "cell.snooze"
	AuditCellUnsnooze = "cell.unsnooze"

	// Maintenance windows planned through the API, with the window's ID
	// as Target and its reason as Detail.
	AuditMaintenancePlan   = "maintenance.plan"
	AuditMaintenanceEdit   = "maintenance.edit"
	AuditMaintenanceCancel = "maintenance.cancel"

	AuditBackup = "backup" // a copy of the store taken while it runs
)

// Audit is one entry of the audit log: who did what to what, from where,
// and whether it was allowed.
type Audit struct {
	Time time.Time `json:"time"`
	// Who is the user name, "kiosk:<label>", or for a failed login the
	// name that was tried.
	Who string `json:"who"`
	// Kind is the caller's kind: person, kiosk or anonymous.
	Kind string `json:"kind"`
	// Source is the client's address, or "cli" for the command line.
	Source string `json:"source"`
	Action string `json:"action"`
	// Target is what the action was done to: a user name, a rule name, a
	// kiosk's id.
	Target string `json:"target"`
	OK     bool   `json:"ok"`
	// Detail says more in one line: what changed, why it failed. Never a
	// secret.
	Detail string `json:"detail"`
}

const (
	auditPrefix = "audit:"
	// maxSeq bounds the sequence number in an audit key (8 digits).
	maxSeq = 100_000_000
	// DefaultAuditLimit and MaxAuditLimit bound what one Query returns.
	DefaultAuditLimit = 100
	MaxAuditLimit     = 1000
	// expireBatch is how many entries Expire deletes per transaction, so
	// that retention never holds the file in one huge transaction.
	expireBatch = 10_000
)

// auditTimePrefix is the start of the keys of entries at ns: every entry
// at ns or later sorts at or after it.
func auditTimePrefix(ns int64) string { return fmt.Sprintf("%s%020d:", auditPrefix, ns) }

func auditKey(ns int64, seq uint32) string { return fmt.Sprintf("%s%08d", auditTimePrefix(ns), seq) }

// validAuditKey reports whether k has the form of an audit key.
func validAuditKey(k string) bool {
	rest, ok := strings.CutPrefix(k, auditPrefix)
	if !ok || len(rest) != 20+1+8 || rest[20] != ':' {
		return false
	}
	for i, c := range []byte(rest) {
		if i != 20 && (c < '0' || c > '9') {
			return false
		}
	}
	return true
}

// normal is a as it reads back from the store.
func (a Audit) normal() Audit {
	a.Time = a.Time.UTC().Round(0)
	return a
}

// putAudit writes entries in tx, each under a key of its own: a key taken
// (by an entry of the same nanosecond written before a restart reset the
// sequence) moves the entry to the next sequence number.
func (s *Store) putAudit(tx txn, entries []Audit) error {
	for _, a := range entries {
		if a.Action == "" {
			return fmt.Errorf("audit entry without an action: %w", ErrInvalid)
		}
		if a.Time.IsZero() || a.Time.UnixNano() < 0 {
			return fmt.Errorf("audit entry %s at %v: want a time after 1970: %w", a.Action, a.Time, ErrInvalid)
		}
		a = a.normal()
		b, err := json.Marshal(a)
		if err != nil {
			return fmt.Errorf("encode audit entry %s: %w", a.Action, err)
		}
		ns := a.Time.UnixNano()
		for tries := 0; ; tries++ {
			k := auditKey(ns, s.seq.Add(1)%maxSeq)
			_, taken, err := tx.get(k)
			if err != nil {
				return err
			}
			if !taken {
				if err := tx.set(k, string(b)); err != nil {
					return err
				}
				break
			}
			if tries == 1000 {
				return fmt.Errorf("audit entry %s: no free key at %d", a.Action, ns)
			}
		}
	}
	return nil
}

// Record writes audit entries on their own, in one transaction.
func (s *Store) Record(entries ...Audit) error {
	return s.kv.update(func(tx txn) error { return s.putAudit(tx, entries) })
}

// AuditQuery selects audit entries. Zero fields select everything.
type AuditQuery struct {
	Who string
	// Action is an action, or a family of them if it ends in ".":
	// "user." selects user.add, user.disable and the rest, and "login."
	// selects login as well as login.failed and login.slowed.
	Action string
	Target string
	// Since and Until bound the entries' times: Since ≤ time < Until.
	Since, Until time.Time
	// Limit is how many entries to return at most: DefaultAuditLimit if
	// 0, MaxAuditLimit if more.
	Limit int
	// Before continues a query: the next cursor an earlier Query returned.
	Before string
}

func (q AuditQuery) matches(a Audit) bool {
	switch {
	case q.Who != "" && a.Who != q.Who,
		q.Target != "" && a.Target != q.Target:
		return false
	case q.Action == "":
		return true
	}
	if family, ok := strings.CutSuffix(q.Action, "."); ok {
		return a.Action == family || strings.HasPrefix(a.Action, q.Action)
	}
	return a.Action == q.Action
}

// Query returns the entries q selects, newest first, and a cursor for
// the next page: "" when there is no more. A Before that no query
// returned is ErrInvalid.
func (s *Store) Query(q AuditQuery) ([]Audit, string, error) {
	if q.Before != "" && !validAuditKey(q.Before) {
		return nil, "", fmt.Errorf("audit cursor %q is not one a query returned: %w", q.Before, ErrInvalid)
	}
	switch {
	case q.Limit <= 0:
		q.Limit = DefaultAuditLimit
	case q.Limit > MaxAuditLimit:
		q.Limit = MaxAuditLimit
	}
	below := q.Before
	if !q.Until.IsZero() {
		if u := auditTimePrefix(max(q.Until.UnixNano(), 0)); below == "" || u < below {
			below = u
		}
	}
	stop := ""
	if !q.Since.IsZero() {
		stop = auditTimePrefix(max(q.Since.UnixNano(), 0))
	}
	var out []Audit
	var next string
	err := s.kv.view(func(tx txn) error {
		var bad error
		last := ""
		err := tx.descend(auditPrefix, below, func(k, v string) bool {
			if k < stop {
				return false
			}
			var a Audit
			if err := json.Unmarshal([]byte(v), &a); err != nil {
				bad = fmt.Errorf("read %s: %w", k, err)
				return false
			}
			if !q.matches(a) {
				return true
			}
			if len(out) == q.Limit {
				next = last // there is one more: the next page starts below the last
				return false
			}
			out = append(out, a)
			last = k
			return true
		})
		if err != nil {
			return err
		}
		return bad
	})
	if err != nil {
		return nil, "", err
	}
	return out, next, nil
}

// Expire deletes the audit entries older than olderThan, in transactions
// of at most 10,000 entries, and returns how many it deleted. It stops at
// the first failure, keeping what it had deleted.
func (s *Store) Expire(olderThan time.Time) (int, error) {
	if olderThan.UnixNano() <= 0 {
		return 0, nil
	}
	n, err := s.expireBefore(auditPrefix, auditTimePrefix(olderThan.UnixNano()))
	if err != nil {
		return n, fmt.Errorf("expire audit entries before %v: %w", olderThan.UTC(), err)
	}
	return n, nil
}

// expireBefore deletes the keys with prefix that sort below cut, oldest
// first, in transactions of at most expireBatch keys, and returns how
// many it deleted. It stops at the first failure, keeping what it had
// deleted.
func (s *Store) expireBefore(prefix, cut string) (int, error) {
	total := 0
	for {
		n := 0
		err := s.kv.update(func(tx txn) error {
			var keys []string
			if err := tx.ascend(prefix, func(k, _ string) bool {
				if k >= cut {
					return false
				}
				keys = append(keys, k)
				return len(keys) < expireBatch
			}); err != nil {
				return err
			}
			for _, k := range keys {
				if err := tx.delete(k); err != nil {
					return err
				}
			}
			n = len(keys)
			return nil
		})
		if err != nil {
			return total, err
		}
		total += n
		if n < expireBatch {
			return total, nil
		}
	}
}
