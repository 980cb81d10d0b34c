// Package config reads the gateway's configuration file: where it listens,
// how people reach it, what it holds for each probe, the probes allowed to
// connect, the samplers they run, the managed entities those samplers
// watch, and who may do what: roles, users, sessions, metrics scrapers and
// the audit log; and how incidents are handled, and the actions that tell
// people and systems of them.
//
// # The file
//
// The configuration is one YAML document, in UTF-8:
//
//	listen: ":7039"
//	tls:
//	  cert_file: /etc/watchfloor/gw.crt
//	  key_file: /etc/watchfloor/gw.key
//	  client_ca_file: /etc/watchfloor/probe-ca.pem
//	  require_probe_cert: true
//	allow_insecure_http: false
//	public_url: https://watchfloor.example.com
//	allowed_hosts: [watchfloor, 10.1.2.3]
//	limits:
//	  max_dataviews: 10000
//	  max_columns: 512
//	  max_headlines: 256
//	  max_rows: 100000
//	  max_cells: 1_000_000
//	probes:
//	  - name: trading-1
//	    token_sha256: 9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08
//	samplers:
//	  - name: cpu-fast
//	    type: cpu
//	    interval: 500ms
//	    params: {percpu: true}
//	entities:
//	  - name: OMS-primary
//	    probe: trading-1
//	    attributes: {region: emea, system: oms, environment: production, client: acme}
//	    samplers: [cpu-fast]
//	rules:
//	  - name: cpu-busy
//	    match: "*/*/cpu/cpu/total/utilisation"
//	    where: {environment: production}
//	    critical: {when: value > 90, for: 30s}
//	    warning: {when: value > 75}
//	    incident: {open: critical, escalation: desk, notify: [desk-hook]}
//	roles:
//	  night-operator:
//	    extends: [operator]
//	    permissions: [maintenance-windows]
//	users:
//	  - name: alice
//	    roles: [night-operator]
//	    password_hash: "$argon2id$v=19$m=19456,t=2,p=1$zVxsfuIhPJRonSYoBjeGWw$gExIzMHNcrfq3aiCNHu2n6Cwah573Wz4Puy2KVmMLH4"
//	  - name: acme-desk
//	    roles: [client]
//	    scope: {client: acme}
//	sessions:
//	  idle_timeout: 1h
//	  absolute_timeout: 12h
//	metrics:
//	  bearer_token_sha256: 7046a5a5ed9ee58dcd295bc6a1a1cbba702cae04aef864262d38466442a77339
//	  public_on_loopback: true
//	audit:
//	  retention: 9600h
//	incidents:
//	  notify: [alertmanager]
//	  default_escalation: desk
//	  escalations:
//	    desk:
//	      - {after: 10m, notify: [mail-manager]}
//	  clients:
//	    acme: {update_every: 15m, via: mail-acme}
//	action_dirs: [/etc/watchfloor/actions]
//	actions:
//	  - name: desk-hook
//	    webhook: {url: "https://desk.example/hook"}
//	  - name: mail-manager
//	    email: {smtp: "mail.example:587", from: watchfloor@example.com, to: [manager@example.com]}
//	  - name: mail-acme
//	    email: {smtp: "mail.example:587", from: desk@example.com, to: [ops@acme.example]}
//	  - name: alertmanager
//	    alertmanager: {urls: ["http://127.0.0.1:9093"]}
//
// Top-level keys:
//
//   - listen: the gateway's host:port; default ":7039" (every interface).
//     The port is a number; the host is empty, an IP address or a host name.
//   - tls: cert_file and key_file, both required when tls is given.
//     client_ca_file, optional, holds the PEM certificates of the authority
//     that signs probes' client certificates: a probe that presents one must
//     present one it signed, naming the probe (common name or DNS name).
//     require_probe_cert: true (default false) refuses probes that present
//     none, whatever their token, and needs client_ca_file. Whether the
//     files exist and hold what they should is checked when the gateway
//     starts and at each reload, not when the file is read.
//   - allow_insecure_http: true or false, default false. The gateway serves
//     plain HTTP only on loopback (127.0.0.0/8, ::1, localhost). Any other
//     listen address, including the default, needs tls, or this explicit
//     opt-out, which accepts that dashboards, the API and probe tokens
//     cross the network unencrypted.
//   - public_url: the absolute http:// or https:// URL people use to reach
//     the gateway, when that is not the listen address (behind a proxy or a
//     load balancer, say). Links the gateway makes start with it, and its
//     host is accepted as a Host header. It may have a path and a port, but
//     no user name, password, query or fragment. No default.
//   - allowed_hosts: further host names and IP addresses the gateway
//     answers browsers for. It always answers for the loopback names
//     (localhost, 127.0.0.1, ::1), the listen host and public_url's host;
//     any other Host header is refused, so that a web page cannot reach
//     the gateway by pointing a name of its own at it (DNS rebinding).
//     Each is a host name or an IP address alone: no scheme, no port, no
//     brackets around IPv6 addresses, no wildcards; each listed once.
//   - limits: what the gateway holds for each probe; see Limits below.
//   - probes: the netprobes allowed to connect. name is what the probe
//     calls itself; token_sha256 is the SHA-256 of its token as 64
//     lowercase hex characters (print it with `printf %s "$TOKEN" |
//     sha256sum`). The token itself is never written here. Each probe has
//     its own token.
//   - samplers: sampler instances. type is a registered sampler type (each
//     documents its params in its package); interval is a Go duration
//     (500ms, 2s, 1m), default 1s, at least 100ms; params is a mapping,
//     passed to the sampler as a JSON object (YAML nulls, booleans, numbers
//     and strings become their JSON counterparts). The sampler is built
//     from its params when the file is read, so bad params are reported
//     then, not when a probe connects.
//   - entities: managed entities. probe names one of probes; attributes
//     map names to values (region, system, environment, client, …), used by
//     rules and views; samplers lists names from samplers, each at most
//     once.
//   - rules: the rules that judge cells, dataviews and probes, in the
//     schema of rules.Def: name, description, match, where (each
//     attribute's value, or a list of values), critical and warning (each
//     with when, for, clear and keep_firing_for), stale, rows (and for,
//     how long a row must be missing), probe_down and severity (warning
//     or critical). Durations are
//     written as intervals are. Every rule is compiled when the file is
//     read; an error inside a condition or a pattern is placed at its
//     character where the value's text stands in the file as written (a
//     plain or quoted value on one line, a literal block), and at the
//     value otherwise, with the place in the text in the message.
//     incident says when the rule opens an incident: open (warning or
//     critical, default critical), client (the entity attribute naming
//     the client, default client), manual and impact (true or false),
//     escalation (a policy of the incidents section), notify (actions
//     beyond the section's) and title (a Go text/template over the
//     signal, checked by running it as the template of notices is).
//     docs/rules.md is the authors' reference.
//   - roles: roles the file defines, or default roles it redefines, by
//     name; see Roles and users below.
//   - users: people who may log in; see Roles and users below.
//   - sessions: how long a login lasts. idle_timeout, default 1h, at least
//     1m: a session ends after that long without a request or an open
//     dashboard. absolute_timeout, default 12h, from idle_timeout to 720h
//     (30 days): it ends that long after the login whatever happens. Both
//     are Go durations.
//   - metrics: who may scrape /metrics besides a person holding
//     scrape-metrics. bearer_token_sha256 is the SHA-256 of the bearer
//     token scrapers present, written as probes' token_sha256 is, and no
//     probe's; public_on_loopback: true (default false) lets anyone
//     connecting from a loopback address scrape.
//   - audit: retention, how long audit entries are kept, a Go duration;
//     default 9600h (400 days), at least 24h.
//   - incidents: how incidents reopen, escalate and keep their clients
//     told; see Incidents below.
//   - dashboard: what the web UI's pages are told; see Dashboard below.
//   - action_dirs: the directories, absolute paths, command actions may
//     run programs from.
//   - actions: what the gateway does when an incident changes; see
//     Actions below.
//
// Probe, sampler, entity, role and user names must be present and not
// empty, and are unique among their kind (entity names across all probes). They may hold
// any character, "/" included: paths percent-encode them. Wherever a
// string is expected any scalar is taken as written, so `client: 007` is
// the string "007"; booleans must be true or false. A key given with no
// value (`listen:`) counts as absent and takes its default. Anchors and
// aliases may be used, as long as they do not expand the file many times
// over; merge keys (<<) may not. Collections may nest at most 100 deep.
//
// # Limits
//
// A probe whose batch would pass one of its limits is disconnected, with
// the reason; a netprobe that knows the limits (the gateway sends them in
// its Welcome) keeps within them instead. Each limit is a whole number
// (1_000_000 and 1e6 are allowed) from 1 to its largest; those left out
// take their defaults:
//
//   - max_dataviews: dataviews per probe; default 10000, at most 1000000.
//   - max_columns: columns per dataview; default 512, at most 65536.
//   - max_headlines: headlines per dataview; default 256, at most 65536.
//   - max_rows: rows per dataview; default 100000, at most 10000000.
//   - max_cells: the probe's cell budget, what all its dataviews may cost
//     together; default 1000000, at most 1000000000. A dataview costs a
//     cell for its name, for each column's name, for each headline's name
//     and value, and for each row's name and values; and a piece of text
//     costs one more cell for every 64 bytes it holds, so long names and
//     values count for what they take (protocol.Cost is the definition).
//
// Parse fills in the defaults; Config.Validate, for configurations built
// in code, fills in nothing, so such a Config starts from DefaultLimits,
// DefaultSessions and DefaultAudit.
//
// # Incidents
//
// The incidents section's keys are all optional; durations are Go
// durations, more than zero:
//
//   - reopen_window: a resolved incident whose cell turns bad again within
//     this long reopens, instead of a new one opening; default 10m.
//   - retention: how long closed incidents are kept; default 2160h (90
//     days).
//   - notify: actions told of every incident's changes.
//   - update_every: how often a client an incident impacts is updated,
//     for clients not listed; default 15m.
//   - snooze_warning: how soon before it expires a snooze is listed as
//     about to; default 15m. max_snooze: the longest a snooze may last;
//     default 168h.
//   - escalations: policies by name (named as actions are), each a list
//     of levels {after, notify}: after how long critical and
//     unacknowledged the level fires, later for each level than the one
//     before, and the actions it runs (none: it marks the incident and
//     alerts the dashboards again). default_escalation names the
//     policy for incidents whose rule names none, and for raised ones.
//   - clients: by name, update_every (default the section's) and via, the
//     action that sends the client its notices (without one, notices are
//     sent by hand).
//   - templates: the notices drafted for clients, problem, update and
//     resolved, each a subject and a body: Go text/templates over the
//     incident (.ID, .Title, .Client, .Severity, .Opened, .Resolved,
//     .Value, .Entity, .Report.Cause, …). A kind not given has the
//     default (DefaultTemplates). Each is run over an empty incident when
//     the file is read, so a misspelt field, or one not always set
//     (.Ack.By: write {{with .Ack}}{{.By}}{{end}}), is an error then.
//
// # Actions
//
// Each action has a name, unique, of letters, digits, '.', '_' and '-' as
// a rule's; timeout (default 10s) for one attempt; retries (default 3)
// after a failed one, waiting from min_backoff (default 1s) doubling to
// max_backoff (default 1m); rate_limit {count, per}, the most messages per
// period (default none); and exactly one of:
//
//   - webhook: url (absolute http:// or https://, without credentials),
//     headers, bearer_token_file, ca_file.
//   - email: smtp (host:port), tls (starttls, the default; tls; or none,
//     for a server on loopback only), username with password_file,
//     ca_file, from and to (at least one), each a mail address.
//   - alertmanager: urls (at least one), resend (default 1m), watchdog (0s,
//     the default, for none), labels, bearer_token_file, ca_file.
//   - command: path, absolute and under one of action_dirs, and args.
//
// Every action named anywhere (incidents.notify, an escalation level, a
// client's via, a rule's incident.notify) must be defined, and each
// escalation policy named (default_escalation, a rule's
// incident.escalation) too. Secrets are read from files, which are
// opened when the gateway starts or reloads, not when the file is read.
// docs/actions.md says what each kind of action sends.
//
// # Calendars
//
// The calendars section says when the systems watched trade and where
// each is in its day, on its zone's wall clock (rules/calendar is the
// model; docs/calendars.md the guide). Every key is optional:
//
//   - desks: the support desks' clocks, {name, zone}, for screens'
//     headers; names unique.
//   - holidays: holiday sets by name, each with file, an iCalendar file
//     (calendar.ParseICS says what it reads), dates (YYYY-MM-DD: name)
//     and half_days (YYYY-MM-DD: the early close, HH:MM); dates and
//     half_days win over the file's for their dates. The file is read
//     when the configuration is, relative to the configuration file's
//     directory, once, and parsed in the zone of each schedule or cycle
//     that names the set; a set no one names is not read. An error in
//     it is placed at the file key, and names the file's own line:
//     "calendars.holidays.lse.file: calendars/lse-2026.ics:12: DTSTART: …".
//   - schedules: each a name, a zone, days (mon to sun, or their full
//     names, in any case; left out, every day), windows ("08:00-16:30";
//     "22:00-02:00" crosses midnight; left out, all day) and holidays, a
//     set's name.
//   - work_cycles: each a name; where, the entities that follow it, as a
//     rule's where selects them (every attribute named must have one of
//     the values); a zone; and either phases ({bod: "07:00", intraday:
//     "08:00", eod: "16:30", closed: "17:30"}, any of them, in the order
//     of the day, as the mapping gives them) with days, or a preset: 24/7,
//     or 24/6 with maintenance, the day of the week it is closed. holidays
//     names a set, as for schedules.
//
// Names of schedules, work cycles and holiday sets are written as a
// rule's, unique among their kind; zones are IANA names (Europe/London,
// UTC), not Local. An entity follows the first work cycle whose where
// holds for its attributes: two cycles may select the same entity, and
// the later one is then not its cycle. The section is checked when the
// file is read, and Config.Validate does not check it again.
//
// # Maintenance windows
//
// The maintenance section plans maintenance windows (gateway/maintenance;
// docs/calendars.md the guide), each with an id (letters, digits, '.',
// '_', '-'; unique), a reason and a zone, and either start and end, wall
// times in the zone (2026-12-05T08:00), for a one-off window, or from and
// to, clocks ("22:00"; to at or before from crosses midnight), with days
// (left out, every day), for a recurring one, which start and end then
// bound. It covers the entities named in entities and those whose
// attributes meet where, as a rule's where: at least one of the two. More
// windows are planned through the API; an id the configuration gives is
// the configuration's.
//
// # Dashboard
//
// The dashboard section's alerts say how the web UI alerts people to
// incidents, by the environment of the entity an incident is about
// (docs/dashboard.md, "Alerts"):
//
//	dashboard:
//	  alerts:
//	    environment_attribute: environment
//	    default: production
//	    repeat: 30s
//	    policies:
//	      - {environment: production, banner: critical, sound: critical, notify: critical}
//	      - {environment: pre-production, banner: critical}
//	      - {environment: uat}
//
// Its keys are all optional:
//
//   - environment_attribute: the entity attribute naming the environment;
//     default environment.
//   - policies: one per environment, each listed once: banner, sound and
//     notify are the least severity (warning or critical) at which an
//     incident shows in the banner, sounds the tone and raises a desktop
//     notification, or never (the default for each left out). Nothing may
//     sound or notify that the banner does not show, where it could not be
//     acknowledged. Listed, the policies replace the defaults, which are
//     the three above.
//   - default: the environment whose policy applies to incidents whose
//     environment no policy lists, or that have none; it must be listed.
//     Default production.
//   - repeat: how often the tone sounds again while an alert that sounds
//     is unacknowledged, from 5s to 1h, or 0s to sound once; default 30s.
//
// A person may add to the policy in their own browser (alert on warnings,
// alert for an environment the policy keeps quiet), never take from it.
// GET /api/v1/dashboard/settings serves the policy in force.
//
// # Roles and users
//
// A role is a named set of permissions. The default roles are client,
// viewer, operator, client-services, engineer, manager and admin
// (access.DefaultRoles says what each grants); roles maps further names,
// or default ones to redefine, to:
//
//   - extends: roles whose permissions this one holds too, default ones or
//     others defined here, each listed once, without cycles.
//   - permissions: the role's own, each listed once, from view,
//     raise-incident, acknowledge, comment, snooze, assign, request-remedy,
//     record-client-update, send-client-notice, read-reports, read-rules,
//     edit-rules, backtest, maintenance-windows, resolve-incidents,
//     approve-actions, manage-escalation, manage-users, manage-probes,
//     manage-kiosks, read-audit, reload-config, debug and scrape-metrics
//     (access.All). public and probe are every caller's, and not granted.
//   - requires_scope: true or false, default false: the role's holders
//     must have a scope. A role extending one that requires a scope
//     requires one too.
//
// A redefined role replaces the default, and cannot extend it; a
// redefined client still requires a scope unless requires_scope: false
// says otherwise.
//
// users lists people, each with:
//
//   - name: unique, as other names are.
//   - roles: at least one, each a default or a defined role, listed once.
//   - scope: one entity attribute and its value or a list of values, like
//     {client: acme} or {client: [acme, beta]}: the user sees only the
//     entities that have it. Without one, the whole estate. A user holding
//     a role that requires a scope must have one.
//   - password_hash: an argon2id hash in PHC form (bcrypt's $2b$ hashes
//     are accepted too), made with `gateway user hash`, which reads the
//     password on standard input. Without one the user cannot log in with
//     a password, only through a one-time link. Errors never quote it.
//
// Users defined here are read-only at run time: they change when the file
// does. More are managed with `gateway user` or the API, in the gateway's
// database; a name is in one place or the other.
//
// # Errors
//
// Nothing is ignored: an unknown key (a typo) is an error, as is a
// duplicate key, a second YAML document, or a value of the wrong kind.
// Parse reports every problem it finds, not just the first, as Errors in
// file order, each formatted as
//
//	file:line:column: field: message
//
// for example
//
//	gateway.yaml:14:5: entities[0].sampelrs: unknown key (known: name, probe, attributes, samplers)
//	gateway.yaml:9:15: samplers[0].interval: 50ms is below the minimum interval 100ms
//
// Field paths index lists from 0 and show keys that are not simple words
// in quoted brackets: entities[2].attributes["cost centre"]. A YAML syntax
// error has a line and column too, at the fault, but no field, and stops
// parsing: what follows it cannot be read reliably.
package config
