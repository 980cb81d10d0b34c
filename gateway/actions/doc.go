// Package actions does what the gateway does when an incident changes,
// off its hot path: it calls webhooks, sends mail, forwards alerts to
// Prometheus Alertmanagers and runs local commands.
//
// # Queues
//
// Each configured action has a bounded queue (Options.QueueSize) and one
// goroutine of its own that takes messages from it in order. Send puts a
// message on each named action's queue and returns at once: a name not
// configured, or a full queue, drops the message, counted in
// watchfloor_action_dropped_total and logged (a full queue at most once
// per 10s, with the number held back). A slow or hung action so delays
// neither the caller nor any other action.
//
// # Attempts, retries and rate limits
//
// An attempt is bounded by the action's Timeout. A failed attempt is
// retried up to Retries times, after a wait that doubles from MinBackoff
// up to MaxBackoff; failures a retry would repeat (a 4xx from a webhook,
// a 5xx reply from a mail server) are not retried. With a RateLimit, at
// most RateLimit messages start per RatePer; the rest wait their turn in
// the queue. Zero durations take the defaults in package config; zero
// Retries is none (the configuration fills in its default). Once a
// message has had its last attempt, Options.Done is told.
//
// # The action types
//
// A webhook gets the Message as JSON in a POST; a 2xx is success, a 5xx,
// a 429 or no answer is retried, any other status (redirects included)
// fails at once, with the status and the start of the body in the error.
//
// An email goes by SMTP: STARTTLS (the default, and a server that does not
// offer it is not sent to), implicit TLS, or none, which is allowed only
// for a loopback server; AUTH PLAIN when a username is set. A notice is
// mailed with its own subject and body; any other message as a summary of
// the incident.
//
// An Alertmanager action posts alerts to /api/v2/alerts of every URL, as
// Prometheus does: an incident's alert fires with an end four resend
// intervals ahead and is sent again every Resend while it fires, so that
// Alertmanager resolves it by itself if the gateway stops; Resolved and
// Closed send it once with its end at now. Its labels (alertname, the
// incident's rule; incident, severity, and the probe, entity, client and
// path it concerns) identify it, so a change of severity resolves the old
// alert and fires a new one. With a Watchdog interval, an alert named
// Watchdog always fires, for a dead-man's switch outside. One
// Alertmanager taking a message is enough for it to count as sent; the
// others are retried. Notices are not alerts: this type ignores them. The
// resends and the watchdog run in the action's own goroutine, between
// messages, so that a resend never overtakes a resolution.
//
// A command runs a program under one of the configured directories
// (checked with symlinks resolved, at load and before each run) with the
// message as JSON on its standard input and the incident's fields in a
// minimal environment (WATCHFLOOR_*, and PATH=/usr/bin:/bin). It runs in
// a process group of its own that is killed whole when it times out. Exit
// status 0 is success.
//
// # Reloads
//
// Configure validates a whole new set of actions and refuses it whole if
// any is wrong. An unchanged action (same settings, same files) keeps
// running untouched. A changed one keeps its queue and counters: its
// new settings take over once the attempt in flight has ended, and an
// Alertmanager action keeps its firing alerts. A removed action finishes
// the attempt in flight, and what it had queued is dropped and counted.
//
// # Metrics
//
// In Options.Metrics, labelled action="name":
// watchfloor_action_sent_total, watchfloor_action_failed_total,
// watchfloor_action_dropped_total, watchfloor_action_retries_total and
// the gauge watchfloor_action_queued.
package actions
