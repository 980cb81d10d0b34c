package maintenance

import (
	"maps"
	"slices"
	"strings"
	"sync/atomic"
	"time"
)

// Set is the maintenance windows in force: an immutable collection of
// compiled windows, indexed so that asking about one entity looks only at
// the windows that name it and those that select by attribute. It is safe
// for concurrent use.
type Set struct {
	all      []*Compiled            // by ID
	byEntity map[string][]*Compiled // windows naming the entity, by ID
	// byAttr indexes the windows with a where by the first attribute it
	// names, then by each value it lists there: an entity's candidates
	// are those under its own value of each such attribute.
	byAttr    map[string]map[string][]*Compiled
	attrNames []string // byAttr's keys, sorted
	// next caches NextChange's last answer: nothing changes in between,
	// so a later now before it has the same answer.
	next atomic.Pointer[nextChange]
}

type nextChange struct{ from, at time.Time }

// NewSet makes a set of the windows. An ID given twice keeps the first
// (the configuration's windows go first, so they win over stored ones);
// Shadowed says which were left out.
func NewSet(ws []*Compiled) *Set {
	s := &Set{byEntity: map[string][]*Compiled{}, byAttr: map[string]map[string][]*Compiled{}}
	seen := map[string]bool{}
	for _, c := range ws {
		if seen[c.w.ID] {
			continue
		}
		seen[c.w.ID] = true
		s.all = append(s.all, c)
	}
	slices.SortFunc(s.all, func(a, b *Compiled) int { return strings.Compare(a.w.ID, b.w.ID) })
	for _, c := range s.all {
		for _, e := range c.w.Entities {
			if l := s.byEntity[e]; len(l) == 0 || l[len(l)-1] != c {
				s.byEntity[e] = append(l, c)
			}
		}
		if len(c.w.Where) == 0 {
			continue
		}
		name := slices.Min(slices.Collect(maps.Keys(c.w.Where)))
		byValue := s.byAttr[name]
		if byValue == nil {
			byValue = map[string][]*Compiled{}
			s.byAttr[name] = byValue
			s.attrNames = append(s.attrNames, name)
		}
		for _, v := range c.w.Where[name] {
			if l := byValue[v]; len(l) == 0 || l[len(l)-1] != c {
				byValue[v] = append(l, c)
			}
		}
	}
	slices.Sort(s.attrNames)
	return s
}

// Shadowed lists the IDs of ws that a set made of them leaves out, being
// given already.
func Shadowed(ws []*Compiled) []string {
	var out []string
	seen := map[string]bool{}
	for _, c := range ws {
		if seen[c.w.ID] {
			out = append(out, c.w.ID)
		}
		seen[c.w.ID] = true
	}
	return out
}

// Len is how many windows the set holds.
func (s *Set) Len() int {
	if s == nil {
		return 0
	}
	return len(s.all)
}

// Windows returns the windows, sorted by ID.
func (s *Set) Windows() []*Compiled {
	if s == nil {
		return nil
	}
	return slices.Clone(s.all)
}

// Window returns the window with the given ID.
func (s *Set) Window(id string) (*Compiled, bool) {
	if s == nil {
		return nil, false
	}
	i, ok := slices.BinarySearchFunc(s.all, id, func(c *Compiled, id string) int { return strings.Compare(c.w.ID, id) })
	if !ok {
		return nil, false
	}
	return s.all[i], true
}

// Active returns the first window, by ID, that covers the entity and is
// active at now.
func (s *Set) Active(entity string, attrs map[string]string, now time.Time) (id string, ok bool) {
	if s == nil {
		return "", false
	}
	var best *Compiled
	for _, c := range s.byEntity[entity] {
		if c.m.Active(now) {
			best = c
			break // by ID: the first is the least
		}
	}
	for _, name := range s.attrNames {
		v, ok := attrs[name]
		if !ok {
			continue
		}
		for _, c := range s.byAttr[name][v] {
			if best != nil && c.w.ID >= best.w.ID {
				break
			}
			if c.selects(attrs) && c.m.Active(now) {
				best = c
				break
			}
		}
	}
	if best == nil {
		return "", false
	}
	return best.w.ID, true
}

// Covering returns the IDs of the windows that cover the entity and are
// active at now, sorted; nil if none.
func (s *Set) Covering(entity string, attrs map[string]string, now time.Time) []string {
	if s == nil {
		return nil
	}
	var ids []string
	for _, c := range s.byEntity[entity] {
		if c.m.Active(now) {
			ids = append(ids, c.w.ID)
		}
	}
	for _, name := range s.attrNames {
		v, ok := attrs[name]
		if !ok {
			continue
		}
		for _, c := range s.byAttr[name][v] {
			if c.selects(attrs) && c.m.Active(now) && !slices.Contains(ids, c.w.ID) {
				ids = append(ids, c.w.ID)
			}
		}
	}
	slices.Sort(ids)
	return ids
}

// NextChange is the earliest instant after now at which any window starts
// or ends; zero if none does.
func (s *Set) NextChange(now time.Time) time.Time {
	if s == nil {
		return time.Time{}
	}
	if n := s.next.Load(); n != nil && !now.Before(n.from) && now.Before(n.at) {
		return n.at
	}
	var first time.Time
	for _, c := range s.all {
		if at, _, ok := c.m.Next(now); ok && (first.IsZero() || at.Before(first)) {
			first = at
		}
	}
	if !first.IsZero() {
		s.next.Store(&nextChange{from: now, at: first})
	}
	return first
}
