package auth

import (
	"net/netip"
	"sync"
	"time"
)

// Slowing down failed logins (see the package doc for why this is not a
// lockout).
const (
	// freeFailures is how many failures in a row a key may have before
	// it must wait.
	freeFailures = 3
	// firstWait is the wait after freeFailures failures; each further
	// failure doubles it, up to maxWait.
	firstWait = time.Second
	maxWait   = 30 * time.Second
	// forgetAfter: a key with no failure for this long starts afresh.
	forgetAfter = 15 * time.Minute
	// maxThrottleKeys bounds the keys of each kind kept: past it, the key
	// whose last failure is oldest is dropped.
	maxThrottleKeys = 10_000
)

// waitAfter is how long a key must wait after failures in a row.
func waitAfter(failures int) time.Duration {
	if failures < freeFailures {
		return 0
	}
	n := failures - freeFailures
	if n >= 5 { // 1 s << 5 is past maxWait already
		return maxWait
	}
	return min(firstWait<<n, maxWait)
}

// limiter counts failed logins per user name and per client address and
// says how long each must wait before its next attempt is checked. An
// attempt it admits counts as a failure at once, until succeeded says
// otherwise: attempts sent in parallel cannot all pass before the first
// has failed. It is safe for concurrent use.
type limiter struct {
	mu             sync.Mutex
	max            int
	users, sources map[string]*strikes
}

type strikes struct {
	failures int
	last     time.Time // the last failure
	until    time.Time // no attempt is checked before
	told     time.Time // the until whose refusal was audited
}

func newLimiter(max int) *limiter {
	return &limiter{max: max, users: make(map[string]*strikes), sources: make(map[string]*strikes)}
}

// refusal says why an attempt must wait: how long for its user name and
// for its address (0 if it need not), and which of those waits is refused
// for the first time, to be audited once.
type refusal struct {
	user, source           time.Duration
	tellUser, tellSource   bool
	userWaits, sourceWaits bool
}

func (r refusal) wait() time.Duration { return max(r.user, r.source) }

// sourceKey is the key a client address is counted under: the address,
// or for IPv6 its /64, which one host or one customer usually holds
// whole, so that walking through it is not a fresh source at each step.
func sourceKey(src string) string {
	a, err := netip.ParseAddr(src)
	if err != nil || !a.Is6() || a.Is4In6() {
		return src
	}
	return netip.PrefixFrom(a.WithZone(""), 64).Masked().String()
}

// admit decides an attempt for user ("" for none) from src: refused while
// either must wait, counted as a failure of both otherwise.
func (l *limiter) admit(user, src string, now time.Time) (refusal, bool) {
	src = sourceKey(src)
	l.mu.Lock()
	defer l.mu.Unlock()
	var r refusal
	if user != "" {
		r.user, r.tellUser = waiting(l.users, user, now)
	}
	r.source, r.tellSource = waiting(l.sources, src, now)
	if r.user > 0 || r.source > 0 {
		r.userWaits, r.sourceWaits = r.user > 0, r.source > 0
		return r, false
	}
	if user != "" {
		l.fail(l.users, user, now)
	}
	l.fail(l.sources, src, now)
	return r, true
}

// succeeded says that the attempt admitted at now for user from src was
// right: user's failures are forgotten, and src loses the failure that
// admission counted and the wait it set. src's other failures stand: a
// login to an account one holds must not wash away the failures one's
// address piled up guessing other names.
func (l *limiter) succeeded(user, src string, now time.Time) {
	src = sourceKey(src)
	l.mu.Lock()
	defer l.mu.Unlock()
	delete(l.users, user)
	if k := l.sources[src]; k != nil {
		k.failures--
		k.until = now
		if k.failures <= 0 {
			delete(l.sources, src)
		}
	}
}

// waiting returns how long key must still wait, and whether this is the
// first refusal of that wait (marking it told).
func waiting(keys map[string]*strikes, key string, now time.Time) (time.Duration, bool) {
	k := keys[key]
	if k == nil {
		return 0, false
	}
	if now.Sub(k.last) >= forgetAfter {
		delete(keys, key)
		return 0, false
	}
	if !now.Before(k.until) {
		return 0, false
	}
	first := !k.told.Equal(k.until)
	k.told = k.until
	return k.until.Sub(now), first
}

// fail counts a failure for key. The caller holds l.mu.
func (l *limiter) fail(keys map[string]*strikes, key string, now time.Time) {
	k := keys[key]
	if k != nil && now.Sub(k.last) >= forgetAfter {
		k = nil
	}
	if k == nil {
		if len(keys) >= l.max {
			evict(keys, l.max, now)
		}
		k = &strikes{}
		keys[key] = k
	}
	k.failures++
	k.last = now
	k.until = now.Add(waitAfter(k.failures))
}

// evict makes room: it drops every forgotten key, and if that is not
// enough the one whose last failure is oldest.
func evict(keys map[string]*strikes, max int, now time.Time) {
	var stalest string
	var oldest time.Time
	for key, k := range keys {
		if now.Sub(k.last) >= forgetAfter {
			delete(keys, key)
			continue
		}
		if stalest == "" || k.last.Before(oldest) {
			stalest, oldest = key, k.last
		}
	}
	if len(keys) >= max && stalest != "" {
		delete(keys, stalest)
	}
}

// sizes returns how many keys of each kind are kept, for tests.
func (l *limiter) sizes() (users, sources int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.users), len(l.sources)
}
