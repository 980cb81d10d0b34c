package gateway

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/VictoriaMetrics/metrics"
	"github.com/gorilla/websocket"
	"github.com/labstack/echo/v5"
	"github.com/watchfloor/watchfloor/dashboard"
	"github.com/watchfloor/watchfloor/gateway/access"
	"github.com/watchfloor/watchfloor/gateway/actions"
	"github.com/watchfloor/watchfloor/gateway/auth"
	"github.com/watchfloor/watchfloor/gateway/config"
	"github.com/watchfloor/watchfloor/gateway/history"
	"github.com/watchfloor/watchfloor/gateway/internal/tlsconf"
	"github.com/watchfloor/watchfloor/gateway/maintenance"
	"github.com/watchfloor/watchfloor/gateway/store"
	"github.com/watchfloor/watchfloor/netprobe/protocol"
	"github.com/watchfloor/watchfloor/rules"
	"github.com/watchfloor/watchfloor/samplers"
)

// Options configure a Gateway.
type Options struct {
	// Config is the configuration to start with.
	Config *config.Config
	// ConfigFile, if set, is reread by Reload; without it (demo mode)
	// reloads are refused.
	ConfigFile string
	// Listener, if set, is served instead of listening on Config.Listen.
	Listener net.Listener
	Logger   *slog.Logger
	// MaxMessage bounds a probe's messages (protocol.DefaultMaxMessage).
	MaxMessage int
	// Hub tunes the dashboard hub; the gateway sets its clock, source,
	// authorizer, origin check and metrics.
	Hub dashboard.Options
	// Clock is the gateway's time: the actors' deadlines and every time
	// it records. Nil means the system clock.
	Clock Clock
	// Consumers receive every probe event's changes, after the gateway's
	// own (the dashboard); see Consumer. Each is called from every probe's
	// actor, so concurrently for different probes.
	Consumers []Consumer
	// MinVersion and MaxVersion narrow the probe protocol versions the
	// gateway speaks (protocol.MinVersion and MaxVersion by default), to
	// play an older gateway in tests of a rolling upgrade.
	MinVersion, MaxVersion uint32
	// Store is where the rules authored through the API are kept (and,
	// with later issues, incidents, acknowledgements and the audit log).
	// The caller opens it before New and closes it after Run returns.
	// Nil means an in-memory store that keeps nothing across a restart,
	// with a warning logged.
	Store *store.Store
	// ControlSocket, if set, is the Unix socket Run answers `gateway
	// backup` on (ControlSocket(the store's file), by convention).
	ControlSocket string
}

// Gateway is one running gateway. Create it with New and run it with Run.
type Gateway struct {
	opts       Options
	log        *slog.Logger
	clock      Clock
	maxMessage int
	minVersion uint32
	maxVersion uint32
	metrics    *metrics.Set
	m          gatewayMetrics
	tree       *tree
	hub        *dashboard.Hub
	echo       *echo.Echo
	router     *access.Router
	guard      *access.Guard
	tls        *tlsconf.Server // nil when serving plain HTTP
	store      *store.Store
	auth       *auth.Service
	hist       *history.Store
	exports    exports
	desk       *desk
	ln         net.Listener
	ctx        context.Context // set by Run; the actors' and connections' parent

	reloadMu sync.Mutex // serialises reloads
	rules    ruleSet
	trans    *Transitions
	// calendars answers the rules about the configuration's calendars;
	// it is replaced with the configuration.
	calendars atomic.Pointer[calendarIndex]
	// maint is the maintenance windows in force (maintenanceapi.go),
	// replaced whole on every change, under maintenanceMu, which then
	// signals maintenanceCh (capacity 1).
	maint         atomic.Pointer[maintenance.Set]
	maintenanceMu sync.Mutex
	maintenanceCh chan struct{}

	mu         sync.RWMutex
	cfg        *config.Config
	authTable  probeAuth
	actors     map[string]*actorHandle
	self       *probeActor       // the gateway's own probe (self.go), once Run has started it
	samplerIDs map[string]uint32 // "entity\x00sampler" → stable instance ID
	nextID     uint32
	conns      map[*websocket.Conn]struct{}
	stopping   bool

	wg     sync.WaitGroup // actors
	connWG sync.WaitGroup // probe connections' handlers and writers
}

type actorHandle struct {
	a      *probeActor
	cancel context.CancelFunc
	done   chan struct{}
	token  [sha256.Size]byte
}

type gatewayMetrics struct {
	batches, bytes, cellUpdates, protocolErrors, gaps, authFailures, probeConnects, reloads, reloadFailures *metrics.Counter
	evaluations, transitions                                                                                *metrics.Counter
}

// New validates what it can and returns a gateway; it starts nothing.
func New(opts Options) (*Gateway, error) {
	if opts.Config == nil {
		return nil, errors.New("gateway: no configuration")
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if opts.MaxMessage <= 0 {
		opts.MaxMessage = protocol.DefaultMaxMessage
	}
	if opts.Clock == nil {
		opts.Clock = systemClock{}
	}
	if opts.MinVersion == 0 {
		opts.MinVersion = protocol.MinVersion
	}
	if opts.MaxVersion == 0 {
		opts.MaxVersion = protocol.MaxVersion
	}
	if opts.MinVersion > opts.MaxVersion || opts.MaxVersion > protocol.MaxVersion {
		return nil, fmt.Errorf("gateway: protocol versions %d to %d: this build speaks %d to %d",
			opts.MinVersion, opts.MaxVersion, protocol.MinVersion, protocol.MaxVersion)
	}
	if opts.Store == nil {
		opts.Logger.Warn("no store file: rules authored through the API are kept in memory and lost when the gateway stops")
		opts.Store = store.OpenMemory()
	}
	guard, err := newGuard(opts.Config)
	if err != nil {
		return nil, err
	}
	var certs *tlsconf.Server
	if opts.Config.TLS != nil {
		if certs, err = tlsconf.New(opts.Config.TLS); err != nil {
			return nil, err
		}
	}
	set := metrics.NewSet()
	g := &Gateway{
		opts:       opts,
		log:        opts.Logger,
		clock:      opts.Clock,
		maxMessage: opts.MaxMessage,
		minVersion: opts.MinVersion,
		maxVersion: opts.MaxVersion,
		metrics:    set,
		tree:       newTree(),
		guard:      guard,
		actors:     make(map[string]*actorHandle),
		samplerIDs: make(map[string]uint32),
		conns:      make(map[*websocket.Conn]struct{}),
		cfg:        opts.Config,
		store:      opts.Store,
		tls:        certs,

		maintenanceCh: make(chan struct{}, 1),
	}
	g.m = gatewayMetrics{
		batches:        set.NewCounter("watchfloor_probe_batches_received_total"),
		bytes:          set.NewCounter("watchfloor_probe_bytes_received_total"),
		cellUpdates:    set.NewCounter("watchfloor_cell_updates_received_total"),
		protocolErrors: set.NewCounter("watchfloor_probe_protocol_errors_total"),
		gaps:           set.NewCounter("watchfloor_probe_sequence_gaps_total"),
		authFailures:   set.NewCounter("watchfloor_probe_auth_failures_total"),
		probeConnects:  set.NewCounter("watchfloor_probe_connects_total"),
		reloads:        set.NewCounter("watchfloor_config_reloads_total"),
		reloadFailures: set.NewCounter("watchfloor_config_reload_failures_total"),
		evaluations:    set.NewCounter("watchfloor_rule_evaluations_total"),
		transitions:    set.NewCounter("watchfloor_severity_transitions_total"),
	}
	g.trans = newTransitions()
	g.calendars.Store(newCalendarIndex(&opts.Config.Calendars))
	set.NewGauge("watchfloor_rules", func() float64 { return float64(g.rules.current().Len()) })
	set.NewGauge("watchfloor_rules_version", func() float64 { return float64(g.rules.current().Version()) })
	set.NewGauge("watchfloor_transitions_pending", func() float64 { return float64(g.trans.q.Len()) })
	set.NewGauge("watchfloor_transitions_coalesced", func() float64 { return float64(g.trans.q.Merges()) })
	set.NewGauge("watchfloor_transitions_refused", func() float64 { return float64(g.trans.q.Refused()) })
	set.NewGauge("watchfloor_probes_connected", func() float64 { return float64(g.connectedProbes()) })
	set.NewGauge("watchfloor_probes_configured", func() float64 {
		g.mu.RLock()
		defer g.mu.RUnlock()
		return float64(len(g.actors))
	})
	set.NewGauge("watchfloor_probe_connections", func() float64 {
		g.mu.RLock()
		defer g.mu.RUnlock()
		return float64(len(g.conns))
	})
	if certs != nil {
		set.NewGauge("watchfloor_gateway_tls_cert_expiry_timestamp_seconds", func() float64 {
			return float64(certs.Expiry().Unix())
		})
	}
	hopts := historyOptions(opts.Config)
	hopts.Points = set.NewCounter("watchfloor_history_points_appended_total")
	hopts.Refused = set.NewCounter("watchfloor_history_samples_refused_total")
	g.hist = history.New(hopts)
	g.historyMetrics(set)
	set.NewGauge("watchfloor_dataviews", func() float64 {
		g.tree.mu.RLock()
		defer g.tree.mu.RUnlock()
		return float64(len(g.tree.dataviews))
	})
	hubOpts := opts.Hub
	hubOpts.Logger = opts.Logger
	hubOpts.Metrics = set
	hubOpts.Now = g.clock.Now
	hubOpts.Authorizer = viewers{t: g.tree, granting: func(p access.Permission) []string { return g.auth.RolesGranting(p) }}
	hubOpts.CheckOrigin = guard.CheckOrigin
	hubOpts.StateTopics = []string{treeTopic, incidentsTopic}
	g.desk = newDesk(g, set)
	g.hub = dashboard.NewHub(source{g.tree, g.desk}, hubOpts)
	if _, err := g.buildAuth(opts.Config); err != nil {
		return nil, err
	}
	g.auth, err = auth.New(auth.Options{
		Store: opts.Store, Config: opts.Config, Now: g.clock.Now, Logger: opts.Logger, Metrics: set,
		Secure: opts.Config.TLS != nil, Ended: g.endSessions, Connected: g.connectedSessions,
	})
	if err != nil {
		return nil, err
	}
	acts, err := actions.New(actions.Options{Actions: opts.Config.Actions, AllowExec: opts.Config.ActionDirs,
		Logger: opts.Logger, Metrics: set, Now: g.clock.Now, QueueSize: actionQueue, Done: g.desk.actionDone})
	if err != nil {
		return nil, fmt.Errorf("gateway: actions: %w", err)
	}
	g.desk.acts = acts
	if err := g.desk.load(opts.Config.Incidents.Policy, g.clock.Now()); err != nil {
		return nil, err
	}
	apiRules, err := g.storedRules(opts.Config.Rules)
	if err != nil {
		return nil, err
	}
	if err := g.initRules(opts.Config.Rules, apiRules); err != nil {
		return nil, err
	}
	if err := g.rebuildMaintenance(); err != nil {
		return nil, err
	}
	g.echo = g.routes()
	return g, nil
}

// newGuard builds the host and origin guard from the configuration: the
// probe socket and the health check answer to any host name.
func newGuard(cfg *config.Config) (*access.Guard, error) {
	return access.NewGuard(access.GuardOptions{
		Listen: cfg.Listen, PublicURL: cfg.PublicURL, Hosts: cfg.AllowedHosts,
		Exempt: []string{probePath, "/healthz"},
	})
}

// viewers is the hub's Authorizer: whoever may view may watch, within
// their scope. The socket's route demands View, so the router has
// identified the caller already. A scoped caller watches the tree's
// variant for its scope, and only the dataviews of entities inside it.
type viewers struct {
	t *tree
	// granting returns the roles that grant a permission now: a reload
	// may redefine a role, and a person's sessions go on with what its
	// roles grant since, while the principal holds what they granted
	// when the socket was opened.
	granting func(access.Permission) []string
}

func (viewers) Connect(r *http.Request) (any, error) {
	id := access.IdentityFrom(r.Context())
	if !id.Can(access.View) {
		return nil, fmt.Errorf("%s may not view", id.Name)
	}
	return id, nil
}

// mayView reports whether id may view now.
func (v viewers) mayView(id access.Identity) bool {
	if !id.Can(access.View) {
		return false
	}
	if id.Kind != access.KindPerson {
		return true // a kiosk link grants View itself, not through roles
	}
	granting := v.granting(access.View)
	return slices.ContainsFunc(id.Roles, func(r string) bool { return slices.Contains(granting, r) })
}

func (v viewers) Subscribe(principal any, topic string) (string, error) {
	id, _ := principal.(access.Identity)
	if !v.mayView(id) {
		return "", fmt.Errorf("%s may not view %s", id.Name, topic)
	}
	if topic == treeTopic || topic == incidentsTopic {
		return stateVariant(topic, id.Scope), nil
	}
	if id.Scope.Whole() {
		return topic, nil
	}
	path, _ := strings.CutPrefix(topic, dashboard.DataviewPrefix)
	if !v.t.entitySees(path, id.Scope) {
		return "", fmt.Errorf("%s sees only %s, and %s is not in it", id.Name, id.Scope, path)
	}
	return topic, nil
}

// endSessions closes at once the dashboard sockets of sessions and kiosk
// links that just ended.
func (g *Gateway) endSessions(ids []string) {
	ended := make(map[string]bool, len(ids))
	for _, id := range ids {
		ended[id] = true
	}
	g.hub.Disconnect(func(p any) bool {
		id, _ := p.(access.Identity)
		return id.Session != "" && ended[id.Session]
	}, "session ended")
}

// connectedSessions lists the sessions with an open dashboard socket,
// which count as active.
func (g *Gateway) connectedSessions() []string {
	var ids []string
	g.hub.Principals(func(p any) {
		if id, _ := p.(access.Identity); id.Session != "" {
			ids = append(ids, id.Session)
		}
	})
	return ids
}

// runCtx is the context Run serves under, or a done one before Run.
func (g *Gateway) runCtx() context.Context {
	g.mu.RLock()
	defer g.mu.RUnlock()
	if g.ctx == nil {
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		return ctx
	}
	return g.ctx
}

// publicURL is the URL people reach the gateway at, for links in
// messages: the configuration's public_url, or the listen address.
func (g *Gateway) publicURL() string {
	g.mu.RLock()
	defer g.mu.RUnlock()
	if g.cfg.PublicURL != "" {
		return strings.TrimSuffix(g.cfg.PublicURL, "/")
	}
	scheme := "http"
	if g.tls != nil {
		scheme = "https"
	}
	if g.ln != nil {
		return scheme + "://" + g.ln.Addr().String()
	}
	return ""
}

// OnceLink returns a path that logs the named user in once, within ttl:
// "/login?once=…", for the demo to print.
func (g *Gateway) OnceLink(user string, ttl time.Duration) (string, error) {
	tok, err := g.auth.OnceLink(user, ttl)
	if err != nil {
		return "", err
	}
	return "/login?once=" + tok, nil
}

// Metrics returns the gateway's metric set, for embedding callers.
func (g *Gateway) Metrics() *metrics.Set { return g.metrics }

// Addr returns the address the gateway listens on, once Run has started
// listening (nil before).
func (g *Gateway) Addr() net.Addr {
	g.mu.RLock()
	defer g.mu.RUnlock()
	if g.ln == nil {
		return nil
	}
	return g.ln.Addr()
}

// Listen binds the configured address (or takes the given listener) so
// Addr is known before Run; Run calls it if the caller did not.
func (g *Gateway) Listen() error {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.ln != nil {
		return nil
	}
	if g.opts.Listener != nil {
		g.ln = g.opts.Listener
		return nil
	}
	ln, err := net.Listen("tcp", g.cfg.Listen)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", g.cfg.Listen, err)
	}
	g.ln = ln
	return nil
}

// Run serves until ctx is done, then stops the HTTP server, closes every
// probe and browser connection and waits for every goroutine it started.
func (g *Gateway) Run(ctx context.Context) error {
	if err := g.Listen(); err != nil {
		return err
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	g.mu.Lock()
	g.ctx = ctx
	g.mu.Unlock()

	g.mu.RLock()
	cfg := g.cfg
	g.mu.RUnlock()
	if err := g.applyConfig(cfg, nil); err != nil {
		g.ln.Close() // as serving it would have, at the end
		return err
	}
	hubDone := make(chan struct{})
	go func() {
		defer close(hubDone)
		g.hub.Run(ctx)
	}()
	authDone := make(chan struct{})
	go func() {
		defer close(authDone)
		g.auth.Run(ctx)
	}()
	histDone := make(chan struct{})
	go func() {
		defer close(histDone)
		g.sweepHistory(ctx)
	}()
	selfDone := g.startSelf(ctx, cfg)
	deskDone := make(chan struct{})
	go func() {
		defer close(deskDone)
		g.desk.run(ctx)
	}()
	actsDone := make(chan struct{})
	go func() {
		defer close(actsDone)
		g.desk.acts.Run(ctx)
	}()
	sweepDone := make(chan struct{})
	go func() {
		defer close(sweepDone)
		g.sweepIncidents(ctx)
	}()
	maintDone := make(chan struct{})
	go func() {
		defer close(maintDone)
		g.watchMaintenance(ctx)
	}()
	controlDone := make(chan struct{})
	go func() {
		defer close(controlDone)
		if g.opts.ControlSocket == "" {
			return
		}
		// Without it, backups wait for the gateway to stop; it still
		// serves.
		if err := g.serveControl(ctx, g.opts.ControlSocket); err != nil {
			g.log.Error("no backups while running", "err", err)
		}
	}()

	srv := &http.Server{
		Handler:           g.echo,
		ReadHeaderTimeout: 10 * time.Second,
		ErrorLog:          slog.NewLogLogger(g.log.Handler(), slog.LevelWarn),
	}
	serveErr := make(chan error, 1)
	go func() {
		var err error
		if g.tls != nil {
			srv.TLSConfig = g.tls.Config()
			err = srv.ServeTLS(g.ln, "", "")
		} else {
			err = srv.Serve(g.ln)
		}
		serveErr <- err
	}()
	g.log.Info("gateway listening", "addr", g.ln.Addr().String())

	var err error
	select {
	case <-ctx.Done():
	case err = <-serveErr:
		cancel()
	}
	shutdownCtx, stop := context.WithTimeout(context.Background(), 5*time.Second)
	defer stop()
	g.mu.Lock()
	g.stopping = true
	for c := range g.conns {
		c.Close() // hijacked connections are not closed by Shutdown
	}
	g.mu.Unlock()
	if serr := srv.Shutdown(shutdownCtx); serr != nil && err == nil {
		err = serr
	}
	if err == nil {
		<-serveErr
	}
	<-hubDone
	<-authDone
	<-histDone
	<-selfDone
	<-deskDone
	<-actsDone
	<-sweepDone
	<-maintDone
	<-controlDone
	g.wg.Wait()
	g.connWG.Wait()
	g.stopExport()
	if errors.Is(err, http.ErrServerClosed) {
		err = nil
	}
	return err
}

func (g *Gateway) trackConn(c *websocket.Conn) bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.stopping {
		return false
	}
	g.conns[c] = struct{}{}
	g.connWG.Add(1)
	return true
}

func (g *Gateway) untrackConn(c *websocket.Conn) {
	g.mu.Lock()
	delete(g.conns, c)
	g.mu.Unlock()
	g.connWG.Done()
}

// limits returns what the gateway holds for each probe.
func (g *Gateway) limits() protocol.Limits {
	g.mu.RLock()
	defer g.mu.RUnlock()
	return limitsOf(g.cfg)
}

func limitsOf(cfg *config.Config) protocol.Limits {
	l := cfg.Limits
	return protocol.Limits{
		MaxDataviews: uint32(l.MaxDataviews), MaxColumns: uint32(l.MaxColumns),
		MaxHeadlines: uint32(l.MaxHeadlines), MaxRows: uint32(l.MaxRows), MaxCells: uint64(l.MaxCells),
	}
}

func (g *Gateway) connectedProbes() int {
	g.mu.RLock()
	defer g.mu.RUnlock()
	n := 0
	for _, h := range g.actors {
		if h.a.node.connected.Load() {
			n++
		}
	}
	return n
}

func (g *Gateway) buildAuth(cfg *config.Config) (probeAuth, error) {
	pa := make(probeAuth, len(cfg.Probes))
	for _, p := range cfg.Probes {
		h, err := parseTokenHash(p.TokenSHA256)
		if err != nil {
			return nil, fmt.Errorf("probe %s: %w", p.Name, err)
		}
		pa[h] = p.Name
	}
	return pa, nil
}

// Reload rereads the configuration file, as SIGHUP asks: the audit log
// records it as done by "SIGHUP". A configuration with errors is refused
// with all of them, and the running one stays.
func (g *Gateway) Reload() error {
	err := g.reload()
	if !errors.Is(err, errNoConfigFile) {
		a := store.Audit{Time: g.clock.Now(), Who: "SIGHUP", Kind: access.KindAnonymous.String(), Source: "signal"}
		a.Action, a.Target, a.OK, a.Detail = reloadAudit(g.opts.ConfigFile, err)
		if rerr := g.store.Record(a); rerr != nil {
			g.log.Error("audit log", "err", rerr)
		}
	}
	return err
}

// reloadAudit describes a reload's outcome for the audit log.
func reloadAudit(file string, err error) (action, target string, ok bool, detail string) {
	if err != nil {
		return store.AuditConfigReloadFailed, file, false, err.Error()
	}
	return store.AuditConfigReload, file, true, ""
}

func (g *Gateway) reload() error {
	if g.opts.ConfigFile == "" {
		return errNoConfigFile
	}
	cfg, err := config.Load(g.opts.ConfigFile)
	if err != nil {
		g.m.reloadFailures.Inc()
		return err
	}
	g.rules.mu.Lock()
	defer g.rules.mu.Unlock()
	set, errs := g.compileRules(cfg.Rules, g.rules.api)
	if errs != nil {
		g.m.reloadFailures.Inc()
		return errs
	}
	if err := g.auth.Check(cfg); err != nil {
		g.m.reloadFailures.Inc()
		return err
	}
	// The certificate files are reread at every reload, so a renewed
	// certificate is served without a restart; a bad one refuses the
	// reload and the old one stays.
	if g.tls != nil && cfg.TLS != nil {
		if err := g.tls.Reload(cfg.TLS); err != nil {
			g.m.reloadFailures.Inc()
			return err
		}
	}
	if err := g.applyConfig(cfg, set); err != nil {
		g.m.reloadFailures.Inc()
		return err
	}
	g.rules.config = cfg.Rules
	g.forgetRuleErrors(set)
	if err := g.rebuildMaintenance(); err != nil {
		g.log.Error("maintenance windows from the reloaded configuration", "err", err)
	}
	if err := g.auth.Apply(cfg); err != nil {
		// Check passed under the same locks, so this is a failure to
		// write, not a refusal of the configuration.
		g.log.Error("people and roles from the reloaded configuration", "err", err)
	}
	// Entities may have moved into or out of scopes.
	g.hub.Reauthorize()
	g.m.reloads.Inc()
	g.log.Info("configuration reloaded", "file", g.opts.ConfigFile)
	return nil
}

var (
	errNoConfigFile = errors.New("the gateway runs without a configuration file (demo mode); nothing to reload")
	errNotRunning   = errors.New("the gateway is not running (not yet, or no more); reload while it runs")
)

// applyConfig makes the running gateway match cfg: actors for new probes,
// actors stopped for removed ones (and for those whose token changed:
// their connection was authorised by the old one), the new configuration
// sent to the others, and returns once they have it. With rules (a
// reload's), the configuration and its rule set reach each actor as one
// event, so no cell is judged by the old rules against the new entity
// attributes, or the other way round. Listen address, TLS and host changes
// need a restart.
func (g *Gateway) applyConfig(cfg *config.Config, set *rules.Set) error {
	g.reloadMu.Lock()
	defer g.reloadMu.Unlock()
	auth, err := g.buildAuth(cfg)
	if err != nil {
		return err
	}
	g.mu.RLock()
	runCtx := g.ctx
	g.mu.RUnlock()
	if runCtx == nil {
		return errNotRunning
	}
	if err := g.configureExport(runCtx, cfg); err != nil {
		return err
	}
	if cfg != g.cfg {
		if err := g.desk.acts.Configure(cfg.Actions, cfg.ActionDirs); err != nil {
			return fmt.Errorf("actions: %w", err)
		}
		if err := g.desk.setPolicy(runCtx, cfg.Incidents.Policy); err != nil {
			return err
		}
	}
	g.mu.Lock()
	if g.ctx == nil || g.stopping {
		g.mu.Unlock()
		return errNotRunning
	}
	if cfg != g.cfg && (cfg.Listen != g.cfg.Listen || (cfg.TLS == nil) != (g.cfg.TLS == nil) ||
		cfg.PublicURL != g.cfg.PublicURL || !slices.Equal(cfg.AllowedHosts, g.cfg.AllowedHosts)) {
		g.log.Warn("listen address, turning TLS on or off, public_url and allowed_hosts changes take effect at the next restart")
	}
	tokens := make(map[string][sha256.Size]byte, len(cfg.Probes))
	for h, name := range auth {
		tokens[name] = h
	}
	var stopped []*actorHandle
	for name, h := range g.actors {
		if tok, keep := tokens[name]; !keep || tok != h.token {
			delete(g.actors, name)
			stopped = append(stopped, h)
		}
	}
	g.mu.Unlock()
	// Stopped first, so that a probe whose token changed gets a fresh
	// subtree rather than sharing paths with the old one.
	// A probe whose actor restarts (its token changed) has been down
	// since its old actor last saw it: the probe rules count from then.
	downSince := make(map[string]int64, len(stopped))
	replaced := make(map[string][]entityConfig, len(stopped))
	for _, h := range stopped {
		h.cancel()
		<-h.done
		replaced[h.a.name] = h.a.cfg.entities
		if n := h.a.node; !n.connected.Load() {
			since := n.since.Load()
			if since == 0 {
				since = h.a.started
			}
			downSince[h.a.name] = since
		}
	}

	g.mu.Lock()
	if g.stopping {
		// Run is shutting down and waits for the actors it knows of.
		g.mu.Unlock()
		return errNotRunning
	}
	if cfg != g.cfg {
		g.hist.Configure(historyOptions(cfg))
	}
	g.cfg = cfg
	g.calendars.Store(newCalendarIndex(&cfg.Calendars))
	g.authTable = auth
	if set != nil {
		g.rules.cur.Store(set) // new actors start with it
		g.desk.refreshEvery(set)
	}
	type cfgUpdate struct {
		a   *probeActor
		cfg *probeConfig
	}
	var updates []cfgUpdate
	var added []string
	for _, p := range cfg.Probes {
		pc := g.probeConfig(cfg, p.Name)
		if h := g.actors[p.Name]; h != nil {
			updates = append(updates, cfgUpdate{h.a, pc})
			continue
		}
		added = append(added, subtreeKeyPrefix+samplers.EscapeSegment(p.Name))
		actx, cancel := context.WithCancel(g.ctx)
		h := &actorHandle{a: newProbeActor(g, p.Name, pc, g.actorConsumers()), cancel: cancel, done: make(chan struct{}), token: tokens[p.Name]}
		if since, ok := downSince[p.Name]; ok {
			h.a.started = since
		}
		h.a.replaced = replaced[p.Name]
		g.actors[p.Name] = h
		g.wg.Add(1)
		go func() {
			defer g.wg.Done()
			defer close(h.done)
			h.a.run(actx)
		}()
	}
	ctx := g.ctx
	g.mu.Unlock()
	if len(added) > 0 {
		g.hub.Touch(treeTopic, added...)
	}
	for _, u := range updates {
		done := make(chan struct{})
		if u.a.send(ctx, event{kind: evConfig, cfg: u.cfg, rules: set, done: done}) {
			select {
			case <-done:
			case <-u.a.stopped:
			case <-ctx.Done():
			}
		}
	}
	g.mu.RLock()
	self := g.self
	g.mu.RUnlock()
	if self != nil {
		// The gateway's own probe takes the new limits and rules too.
		done := make(chan struct{})
		if self.send(ctx, event{kind: evConfig, cfg: selfConfig(cfg), rules: set, done: done}) {
			select {
			case <-done:
			case <-self.stopped:
			case <-ctx.Done():
			}
		}
	}
	return nil
}

// actorConsumers returns the consumers of one actor: a dashboard sink of
// its own (its buffers are the actor's), then the caller's.
func (g *Gateway) actorConsumers() []Consumer {
	return append([]Consumer{newDashboardSink(g.hub)}, g.opts.Consumers...)
}

// probeConfig computes what a probe runs: its entities, their attributes
// and sampler instances. Instance IDs stay the same for the same entity
// and sampler name across reloads. Called with g.mu held.
func (g *Gateway) probeConfig(cfg *config.Config, probe string) *probeConfig {
	pc := &probeConfig{instances: make(map[uint32]instance), limits: limitsOf(cfg)}
	for _, e := range cfg.EntitiesOf(probe) {
		ec := entityConfig{name: e.Name, attrs: e.Attributes}
		for _, sname := range e.Samplers {
			s, ok := cfg.Sampler(sname)
			if !ok {
				continue // config validation refuses this
			}
			key := e.Name + "\x00" + sname
			id, ok := g.samplerIDs[key]
			if !ok {
				g.nextID++
				id = g.nextID
				g.samplerIDs[key] = id
			}
			pc.msg.Samplers = append(pc.msg.Samplers, protocol.SamplerConfig{
				ID: id, Entity: e.Name, Name: sname, Type: s.Type, Interval: s.Interval, Params: s.Params,
			})
			in := instance{id: id, entity: e.Name, sampler: sname, typ: s.Type, interval: s.Interval}
			pc.instances[id] = in
			ec.samplers = append(ec.samplers, in)
		}
		pc.entities = append(pc.entities, ec)
	}
	slices.SortFunc(pc.msg.Samplers, func(a, b protocol.SamplerConfig) int { return int(a.ID) - int(b.ID) })
	return pc
}
