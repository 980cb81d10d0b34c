package config

import "time"

// Action is something the gateway does when an incident changes: a
// webhook call, a mail, an alert forwarded to Alertmanager, or a local
// command. Exactly one of Webhook, Email, Alertmanager and Command is set.
type Action struct {
	Name string
	// Timeout bounds one attempt; Retries is how many attempts follow a
	// failed one, MinBackoff and MaxBackoff the wait between them (doubling).
	Timeout                time.Duration
	Retries                int
	MinBackoff, MaxBackoff time.Duration
	// RateLimit is the most messages the action sends per RatePer; beyond
	// it messages wait their turn in its queue. Zero is no limit.
	RateLimit int
	RatePer   time.Duration

	Webhook      *WebhookAction
	Email        *EmailAction
	Alertmanager *AlertmanagerAction
	Command      *CommandAction
}

// WebhookAction posts each message as JSON to URL.
type WebhookAction struct {
	URL     string
	Headers map[string]string
	// BearerTokenFile, if set, holds a token sent as Authorization:
	// Bearer.
	BearerTokenFile string
	CAFile          string
}

// EmailAction mails each message over SMTP.
type EmailAction struct {
	// SMTP is the server's host:port.
	SMTP string
	// TLS is "starttls" (the default), "tls" (implicit, port 465) or
	// "none", which is accepted only for a loopback server.
	TLS      string
	Username string
	// PasswordFile holds the password for Username.
	PasswordFile string
	CAFile       string
	From         string
	To           []string
}

// AlertmanagerAction forwards incidents to Prometheus Alertmanagers
// through their v2 API, as Prometheus does: firing alerts are sent again
// every Resend, and a resolved incident resolves its alert.
type AlertmanagerAction struct {
	URLs   []string
	Resend time.Duration
	// Watchdog, if more than zero, is how often an always-firing
	// "Watchdog" alert is sent, so that a system outside pages someone
	// when the gateway stops sending it.
	Watchdog time.Duration
	// Labels are added to every alert.
	Labels map[string]string
	// BearerTokenFile and CAFile are as for a webhook.
	BearerTokenFile string
	CAFile          string
}

// CommandAction runs a program on the gateway, with the incident's fields
// in its environment and the message as JSON on its standard input. Path
// must lie under one of the configuration's ActionDirs.
type CommandAction struct {
	Path string
	Args []string
}

// Action defaults.
const (
	DefaultActionTimeout    = 10 * time.Second
	DefaultActionRetries    = 3
	DefaultActionMinBackoff = time.Second
	DefaultActionMaxBackoff = time.Minute
	DefaultAlertResend      = time.Minute
)
