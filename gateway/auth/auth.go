package auth

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"maps"
	"net/http"
	"net/netip"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/VictoriaMetrics/metrics"

	"github.com/watchfloor/watchfloor/assets"
	"github.com/watchfloor/watchfloor/gateway/access"
	"github.com/watchfloor/watchfloor/gateway/config"
	"github.com/watchfloor/watchfloor/gateway/store"
)

// CookieName is the cookie that holds a session's or kiosk link's secret.
const CookieName = "watchfloor_session"

const (
	// secretBytes is the size of every secret handed out: sessions,
	// kiosk links, one-time links.
	secretBytes = 32
	// maxCookie bounds a session cookie's value: a secret is 43
	// characters of base64url.
	maxCookie = 64
	// kioskMaxAge is a kiosk cookie's lifetime, the most browsers keep
	// one.
	kioskMaxAge = 400 * 24 * time.Hour
	// flushEvery is how stale a session's last-seen time in the store may
	// get before a sweep writes it.
	flushEvery = 30 * time.Second
	// expireEvery is how often a sweep deletes old audit entries.
	expireEvery = time.Hour
	// seenGranularity: a request moves a session's last-seen time only if
	// it is older than this, so requests in a burst do not all write the
	// same cache line.
	seenGranularity = time.Second
)

// Options configure a Service.
type Options struct {
	Store *store.Store
	// Config gives the users, roles, session timeouts, metrics access and
	// audit retention; Apply replaces it.
	Config *config.Config
	// Now is the clock; nil is time.Now.
	Now    func() time.Time
	Logger *slog.Logger
	// Metrics is where the service's counters go; nil is a set of its own.
	Metrics *metrics.Set
	// Secure gives cookies the Secure attribute: the gateway serves TLS.
	Secure bool
	// Ended is called, outside any lock, with the Identity.Session values
	// whose sessions or kiosk links just ended (logout, expiry,
	// revocation, a user disabled or its roles changed), so the gateway
	// closes their open sockets at once. Nil calls nothing.
	Ended func(sessions []string)
	// Connected returns the Identity.Session values that have an open
	// dashboard socket now: they count as active, so a wall screen that
	// only watches is never idle. Nil is none.
	Connected func() []string
	// PasswordParams are the cost of new password hashes (and of the
	// dummy hash that a wrong user name is checked against); zero is
	// access.DefaultPasswordParams.
	PasswordParams access.PasswordParams
	// Pages holds the login page: login.html, login.js, style.css and
	// favicon.svg; nil is assets.FS().
	Pages fs.FS
}

// Service authenticates the gateway's callers and serves logins, kiosk
// links, users and the audit log. It is safe for concurrent use.
type Service struct {
	store  *store.Store
	now    func() time.Time
	log    *slog.Logger
	secure bool
	ended  func([]string)
	conn   func() []string
	params access.PasswordParams
	pages  fs.FS
	// dummy is a hash of a random password, made with params: a login for
	// a user with no password is checked against it, so it costs what
	// checking a real one does. It is made once, by Run as it starts or
	// by the first login that needs it, not in New: a hash at the default
	// cost takes ~22 ms, which every start would wait for.
	dummy func() string
	// hashing bounds the password checks running at once: each takes
	// about 19 MiB for ~20 ms, so logins from many addresses at once
	// queue here rather than exhaust memory.
	hashing chan struct{}

	// snap is what Authenticate reads: one atomic load per request.
	snap atomic.Pointer[snapshot]
	// mu serialises changes: it is held across a change's store
	// transaction, so that memory and the store move together. The
	// request path takes it only to end an expired session.
	mu   sync.Mutex
	once map[[32]byte]onceLink // under mu

	limit *limiter

	// sweepMu serialises sweeps; lastExpiry is under it.
	sweepMu    sync.Mutex
	lastExpiry time.Time

	m serviceMetrics
}

type serviceMetrics struct {
	loginOK, loginFailed, loginSlowed *metrics.Counter
	auditErrors                       *metrics.Counter
}

var (
	_ access.Authenticator = (*Service)(nil)
	_ access.Explainer     = (*Service)(nil)
)

// snapshot is the state requests read. It is never changed once
// published; a change publishes a new one, sharing what it did not change.
type snapshot struct {
	byHash map[[32]byte]*live // sessions and kiosk links, by the SHA-256 of their secret
	byID   map[string]*live
	users  map[string]*principal // configuration and database users
	roles  access.Roles

	idle, absolute time.Duration // 0: no limit
	bearer         [32]byte      // the SHA-256 of the metrics token
	hasBearer      bool
	loopback       bool // loopback callers may scrape metrics
	retention      time.Duration
}

func (sn *snapshot) clone() *snapshot {
	c := *sn
	c.byHash = maps.Clone(sn.byHash)
	c.byID = maps.Clone(sn.byID)
	return &c
}

func (sn *snapshot) add(l *live) {
	sn.byHash[l.hash] = l
	sn.byID[l.id] = l
}

func (sn *snapshot) remove(l *live) {
	delete(sn.byHash, l.hash)
	delete(sn.byID, l.id)
}

// settings copies the configuration's session, metrics and audit
// settings into sn; Check has validated them.
func (sn *snapshot) settings(cfg *config.Config) {
	sn.idle, sn.absolute = cfg.Sessions.IdleTimeout, cfg.Sessions.AbsoluteTimeout
	sn.hasBearer = false
	sn.bearer = [32]byte{}
	if h := cfg.Metrics.BearerTokenSHA256; h != "" {
		b, _ := hex.DecodeString(h)
		copy(sn.bearer[:], b)
		sn.hasBearer = true
	}
	sn.loopback = cfg.Metrics.PublicOnLoopback
	sn.retention = cfg.Audit.Retention
}

// principal is a user as the service knows it. It is never changed once
// made; a change makes a new one.
type principal struct {
	name     string
	config   bool // defined in the configuration file, not the database
	roles    []string
	scope    access.Scope
	hash     string // password hash; "" cannot log in with a password
	disabled bool
	created  time.Time // database users only
	updated  time.Time
	// ident is the identity every session of the user shares, Session
	// aside; built once per user and role table.
	ident access.Identity
}

// build makes p's identity from the role table. A disabled user's unknown
// roles are no error: it cannot log in until enabled, which checks them.
func (p *principal) build(roles access.Roles) error {
	perms, needsScope, err := roles.Grant(p.roles)
	switch {
	case err != nil && p.disabled:
		return nil
	case err != nil:
		return fmt.Errorf("user %s: %w", p.name, err)
	case needsScope && p.scope.Whole():
		return fmt.Errorf("user %s: a role it holds requires a scope, and it has none", p.name)
	}
	id := access.NewIdentity(p.name, access.KindPerson, perms...)
	id.Roles = p.roles
	id.Scope = p.scope
	p.ident = id
	return nil
}

// endsSessions reports whether changing a user from p to next ends its
// sessions: what they rest on changed.
func (p *principal) endsSessions(next *principal) bool {
	return next == nil || next.disabled || p.hash != next.hash || !access.SameNames(p.roles, next.roles) ||
		!p.scope.Equal(next.scope)
}

// basis digests what p's sessions rest on, for the store to keep with
// each one. A configuration file's user may change while the gateway is
// down, so a session of one must not outlive, across a restart, what a
// reload would have ended: its password hash, roles and scope, compared
// as endsSessions does. A database user's sessions need no more: the
// store deletes them in the transaction that changes the user.
func (p *principal) basis() string {
	if !p.config {
		return "database"
	}
	roles := slices.Compact(slices.Sorted(slices.Values(p.roles)))
	values := slices.Compact(slices.Sorted(slices.Values(p.scope.Values)))
	sum := sha256.Sum256(fmt.Appendf(nil, "%q %q %q %q", p.hash, roles, p.scope.Attribute, values))
	return "config:" + hex.EncodeToString(sum[:])
}

func configPrincipal(u config.User) *principal {
	return &principal{name: u.Name, config: true, roles: slices.Clone(u.Roles), scope: u.Scope, hash: u.PasswordHash}
}

func dbPrincipal(u store.User) *principal {
	return &principal{name: u.Name, roles: slices.Clone(u.Roles), scope: toAccess(u.Scope), hash: u.PasswordHash,
		disabled: u.Disabled, created: u.Created, updated: u.Updated}
}

func toAccess(s store.Scope) access.Scope {
	return access.Scope{Attribute: s.Attribute, Values: slices.Clone(s.Values)}
}

func toStore(s access.Scope) store.Scope {
	return store.Scope{Attribute: s.Attribute, Values: slices.Clone(s.Values)}
}

// live is a session or a kiosk link that works now.
type live struct {
	hash    [32]byte
	key     string // hash in hex: the store's key
	id      string // Identity.Session
	created int64  // Unix ns
	source  string
	agent   string
	// user is the session's user, replaced when a reload rebuilds it;
	// nil for a kiosk.
	user  atomic.Pointer[principal]
	kiosk *kioskLink
	// lastSeen is the last request, or sweep that found a socket open,
	// in Unix ns.
	lastSeen atomic.Int64
	// flushed is the last-seen time the store holds; under sweepMu.
	flushed int64
}

// kioskLink is what a kiosk's live entry knows of it.
type kioskLink struct {
	k       store.Kiosk
	ident   access.Identity
	expires int64 // Unix ns; 0 never
}

func (l *live) seen(now int64) { l.lastSeen.Store(now) }

func (l *live) expired(sn *snapshot, now int64) bool {
	if l.kiosk != nil {
		return l.kiosk.expires != 0 && now >= l.kiosk.expires
	}
	if sn.absolute > 0 && now-l.created >= int64(sn.absolute) {
		return true
	}
	return sn.idle > 0 && now-l.lastSeen.Load() >= int64(sn.idle)
}

// userName is the session's user, or the kiosk's identity name.
func (l *live) userName() string {
	if l.kiosk != nil {
		return l.kiosk.ident.Name
	}
	return l.user.Load().name
}

func (l *live) kind() access.Kind {
	if l.kiosk != nil {
		return access.KindKiosk
	}
	return access.KindPerson
}

// New returns a service over opts.Store: it loads the database's users,
// sessions and kiosk links, drops the sessions that have expired or whose
// user is gone, disabled or changed since their login (see basis), and
// refuses a configuration that clashes with the database (a user in both,
// a database user whose role is not defined).
func New(opts Options) (*Service, error) {
	if opts.Store == nil || opts.Config == nil {
		return nil, errors.New("auth: New needs a store and a configuration")
	}
	s := &Service{
		store: opts.Store, now: opts.Now, log: opts.Logger, secure: opts.Secure,
		ended: opts.Ended, conn: opts.Connected, params: opts.PasswordParams, pages: opts.Pages,
		once:  make(map[[32]byte]onceLink),
		limit: newLimiter(maxThrottleKeys),
	}
	if s.now == nil {
		s.now = time.Now
	}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	if s.params == (access.PasswordParams{}) {
		s.params = access.DefaultPasswordParams
	}
	if s.pages == nil {
		s.pages = assets.FS()
	}
	set := opts.Metrics
	if set == nil {
		set = metrics.NewSet()
	}
	s.m = serviceMetrics{
		loginOK:     set.GetOrCreateCounter(`watchfloor_logins_total{result="ok"}`),
		loginFailed: set.GetOrCreateCounter(`watchfloor_logins_total{result="failed"}`),
		loginSlowed: set.GetOrCreateCounter(`watchfloor_logins_total{result="slowed"}`),
		auditErrors: set.GetOrCreateCounter(`watchfloor_audit_write_errors_total`),
	}
	s.dummy = sync.OnceValue(func() string {
		h, err := access.HashPasswordWith(randomToken(), s.params)
		if err != nil {
			panic("auth: hash a random password: " + err.Error()) // crypto/rand failed
		}
		return h
	})
	s.hashing = make(chan struct{}, max(2, runtime.GOMAXPROCS(0)))

	dbUsers, err := s.store.Users()
	if err != nil {
		return nil, fmt.Errorf("auth: load users: %w", err)
	}
	sn, err := build(opts.Config, dbUsers, s.store.Path())
	if err != nil {
		return nil, fmt.Errorf("auth: %w", err)
	}
	sessions, err := s.store.Sessions()
	if err != nil {
		return nil, fmt.Errorf("auth: load sessions: %w", err)
	}
	now := s.now().UnixNano()
	var stale []string
	for _, ss := range sessions {
		l, ok := sessionLive(ss)
		if ok {
			p := sn.users[ss.User]
			if p == nil || p.disabled || ss.Basis != p.basis() {
				ok = false
			} else {
				l.user.Store(p)
				ok = !l.expired(sn, now)
			}
		}
		if !ok {
			stale = append(stale, ss.Hash)
			continue
		}
		sn.add(l)
	}
	if len(stale) > 0 {
		if _, err := s.store.DeleteSessions(stale); err != nil {
			return nil, fmt.Errorf("auth: delete %d ended sessions: %w", len(stale), err)
		}
	}
	kiosks, err := s.store.Kiosks()
	if err != nil {
		return nil, fmt.Errorf("auth: load kiosk links: %w", err)
	}
	for _, k := range kiosks {
		l, ok := kioskLive(k)
		if ok && !l.expired(sn, now) {
			sn.add(l)
		}
	}
	s.snap.Store(sn)
	return s, nil
}

// build makes a snapshot, without sessions, from a configuration and the
// database's users, or says every way in which they do not fit together.
func build(cfg *config.Config, dbUsers []store.User, where string) (*snapshot, error) {
	sn := &snapshot{
		byHash: make(map[[32]byte]*live), byID: make(map[string]*live),
		users: make(map[string]*principal), roles: cfg.RoleTable(),
	}
	var errs []error
	if h := cfg.Metrics.BearerTokenSHA256; h != "" {
		if b, err := hex.DecodeString(h); err != nil || len(b) != sha256.Size {
			errs = append(errs, errors.New("metrics bearer token: want the SHA-256 of the token, in 64 hex digits"))
		}
	}
	sn.settings(cfg)
	for _, u := range cfg.Users {
		if _, dup := sn.users[u.Name]; dup {
			errs = append(errs, fmt.Errorf("user %s is defined twice in the configuration file", u.Name))
			continue
		}
		p := configPrincipal(u)
		if err := p.build(sn.roles); err != nil {
			errs = append(errs, fmt.Errorf("configuration file: %w", err))
		}
		sn.users[u.Name] = p
	}
	if where == "" {
		where = "in memory"
	}
	for _, u := range dbUsers {
		if q, clash := sn.users[u.Name]; clash && q.config {
			errs = append(errs, fmt.Errorf("user %s is defined in the configuration file and in the database (store %s); a user has one source: take it out of the file",
				u.Name, where))
			continue
		}
		p := dbPrincipal(u)
		if err := p.build(sn.roles); err != nil {
			errs = append(errs, fmt.Errorf("database (store %s): %w; change the configuration back, or first disable the user (gateway user disable %s)",
				where, err, u.Name))
		}
		sn.users[u.Name] = p
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return sn, nil
}

func sessionLive(ss store.Session) (*live, bool) {
	b, err := hex.DecodeString(ss.Hash)
	if err != nil || len(b) != sha256.Size {
		return nil, false
	}
	l := &live{key: ss.Hash, id: ss.ID, created: ss.Created.UnixNano(), source: ss.Source, agent: ss.UserAgent}
	copy(l.hash[:], b)
	l.lastSeen.Store(ss.LastSeen.UnixNano())
	l.flushed = ss.LastSeen.UnixNano()
	return l, true
}

func kioskLive(k store.Kiosk) (*live, bool) {
	b, err := hex.DecodeString(k.SecretSHA256)
	if err != nil || len(b) != sha256.Size {
		return nil, false
	}
	id := access.NewIdentity("kiosk:"+k.Label, access.KindKiosk, access.View)
	id.Scope = toAccess(k.Scope)
	id.Session = k.ID
	kl := &kioskLink{k: k, ident: id}
	if !k.Expires.IsZero() {
		kl.expires = k.Expires.UnixNano()
	}
	l := &live{key: k.SecretSHA256, id: k.ID, created: k.Created.UnixNano(), kiosk: kl}
	copy(l.hash[:], b)
	used := k.LastUsed.UnixNano()
	if k.LastUsed.IsZero() {
		used = 0
	}
	l.lastSeen.Store(used)
	l.flushed = used
	return l, true
}

// Errors Authenticate returns; the Router answers 401 with their text.
var (
	errNoSession  = errors.New("no session; log in at /login")
	errMalformed  = errors.New("malformed session cookie")
	errExpired    = errors.New("session expired; log in again")
	errKioskEnded = errors.New("this kiosk link has expired")
	errUnknown    = errors.New("unknown or ended session; log in at /login")
	errBearer     = errors.New("bearer token not recognised")
)

// Anonymous identities that may only scrape metrics.
var (
	scraper  = access.NewIdentity("metrics-scraper", access.KindAnonymous, access.ScrapeMetrics)
	loopback = access.NewIdentity("loopback", access.KindAnonymous, access.ScrapeMetrics)
)

// Authenticate finds who is behind a request: the session or kiosk link
// in its cookie, else the metrics bearer token, else (if so configured) a
// loopback caller allowed to scrape metrics. It ends a session it finds
// expired. It reads one snapshot and allocates nothing on the way to a
// live session's identity.
func (s *Service) Authenticate(r *http.Request) (access.Identity, error) {
	sn := s.snap.Load()
	tok, ok := sessionCookie(r.Header)
	if !ok {
		return s.anonymous(sn, r)
	}
	if !wellFormed(tok) {
		return access.Identity{}, errMalformed
	}
	// Hash from a buffer on the stack: []byte(tok) would escape to the
	// heap, one allocation per request.
	var buf [maxCookie]byte
	l := sn.byHash[sha256.Sum256(buf[:copy(buf[:], tok)])]
	if l == nil {
		return access.Identity{}, errUnknown
	}
	now := s.now().UnixNano()
	if l.expired(sn, now) {
		s.notify(s.expire([]*live{l}))
		if l.kiosk != nil {
			return access.Identity{}, errKioskEnded
		}
		return access.Identity{}, errExpired
	}
	if now-l.lastSeen.Load() >= int64(seenGranularity) {
		l.seen(now)
	}
	if l.kiosk != nil {
		return l.kiosk.ident, nil
	}
	id := l.user.Load().ident
	id.Session = l.id
	return id, nil
}

// anonymous identifies a caller without a session cookie.
func (s *Service) anonymous(sn *snapshot, r *http.Request) (access.Identity, error) {
	if h := r.Header.Get("Authorization"); h != "" {
		const scheme = "Bearer "
		if !sn.hasBearer || len(h) <= len(scheme) || !strings.EqualFold(h[:len(scheme)], scheme) {
			return access.Identity{}, errBearer
		}
		sum := sha256.Sum256([]byte(h[len(scheme):]))
		if subtle.ConstantTimeCompare(sum[:], sn.bearer[:]) != 1 {
			return access.Identity{}, errBearer
		}
		return scraper, nil
	}
	if sn.loopback && isLoopback(r.RemoteAddr) {
		return loopback, nil
	}
	return access.Identity{}, errNoSession
}

func isLoopback(remote string) bool {
	ap, err := netip.ParseAddrPort(remote)
	if err != nil {
		a, err := netip.ParseAddr(remote)
		return err == nil && a.Unmap().IsLoopback()
	}
	return ap.Addr().Unmap().IsLoopback()
}

// sessionCookie finds the session cookie in the Cookie headers without
// parsing the others (http.Request.Cookie allocates for each). An empty
// one counts as none.
func sessionCookie(h http.Header) (string, bool) {
	for _, line := range h["Cookie"] {
		for line != "" {
			var part string
			part, line, _ = strings.Cut(line, ";")
			name, val, ok := strings.Cut(strings.TrimSpace(part), "=")
			if !ok || name != CookieName {
				continue
			}
			if len(val) >= 2 && val[0] == '"' && val[len(val)-1] == '"' {
				val = val[1 : len(val)-1]
			}
			return val, val != ""
		}
	}
	return "", false
}

// wellFormed reports whether tok can be a secret this service handed out:
// base64url without padding, and not over maxCookie characters.
func wellFormed(tok string) bool {
	if len(tok) > maxCookie {
		return false
	}
	for i := 0; i < len(tok); i++ {
		c := tok[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' || c == '_') {
			return false
		}
	}
	return true
}

// RolesGranting returns the roles that grant p, for the Router's refusals.
func (s *Service) RolesGranting(p access.Permission) []string {
	return s.snap.Load().roles.Granting(p)
}

// end takes sessions and kiosk links out of service on purpose (a logout,
// an administrator), with the audit entries: person sessions out of the
// store in one transaction with the entries (kiosk links stay stored
// until revoked), then out of memory. If the store fails nothing changes,
// so that an end reported done is not undone by the next start. Those
// already ended are skipped; with none left, nothing is written. It
// returns the Identity.Session values to hand to Ended, which the caller
// does once it holds no lock.
func (s *Service) end(ls []*live, audit ...store.Audit) ([]string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	sn := s.snap.Load()
	gone, hashes := current(sn, ls)
	if len(gone) == 0 {
		return nil, nil
	}
	if len(hashes) > 0 || len(audit) > 0 {
		if _, err := s.store.DeleteSessions(hashes, audit...); err != nil {
			return nil, fmt.Errorf("end %d sessions: %w", len(gone), err)
		}
	}
	return s.drop(sn, gone), nil
}

// expire takes sessions and kiosk links past their time out of service:
// out of memory at once, and out of the store as it can (New drops what
// has expired, so a failure here is not undone at the next start). It
// returns what to hand to Ended, as end does.
func (s *Service) expire(ls []*live) []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	sn := s.snap.Load()
	gone, hashes := current(sn, ls)
	if len(gone) == 0 {
		return nil
	}
	ids := s.drop(sn, gone)
	if len(hashes) > 0 {
		if _, err := s.store.DeleteSessions(hashes); err != nil {
			s.log.Error("auth: delete expired sessions from the store; they are ended in memory", "sessions", len(hashes), "err", err)
		}
	}
	return ids
}

// current returns those of ls that sn still holds, and the store keys of
// the person sessions among them.
func current(sn *snapshot, ls []*live) (gone []*live, hashes []string) {
	for _, l := range ls {
		if sn.byHash[l.hash] != l {
			continue
		}
		gone = append(gone, l)
		if l.kiosk == nil {
			hashes = append(hashes, l.key)
		}
	}
	return gone, hashes
}

// drop publishes sn without ls, returning their Identity.Session values.
// The caller holds s.mu.
func (s *Service) drop(sn *snapshot, ls []*live) []string {
	next := sn.clone()
	ids := make([]string, 0, len(ls))
	for _, l := range ls {
		next.remove(l)
		ids = append(ids, l.id)
	}
	s.snap.Store(next)
	return ids
}

// notify tells Ended about sessions that ended.
func (s *Service) notify(ids []string) {
	if len(ids) > 0 && s.ended != nil {
		s.ended(ids)
	}
}

// randomToken returns a new secret: 32 random bytes in base64url.
func randomToken() string {
	b := make([]byte, secretBytes)
	rand.Read(b) // never fails (crypto/rand panics rather)
	return base64.RawURLEncoding.EncodeToString(b)
}

// randomID returns a new public id: 16 random bytes in hex.
func randomID() string {
	b := make([]byte, 16)
	rand.Read(b)
	return hex.EncodeToString(b)
}

func hashToken(tok string) ([32]byte, string) {
	sum := sha256.Sum256([]byte(tok))
	return sum, hex.EncodeToString(sum[:])
}
