// Package incident is the life of an incident: opened by a rule's
// verdict on a cell or raised by a person, acknowledged, assigned,
// snoozed, escalated, its client kept updated, resolved (by itself or by
// a person) and closed, every change an event on its timeline.
//
// A Book is the state machine. It is pure: it does no I/O, starts no
// goroutine and reads no clock; every method takes the time it happens
// at, and says what changed (the incidents, the new events on their
// timelines, and the effects the caller carries out: alerts to send,
// escalations to run, notices drafted). The gateway feeds it severity
// transitions and people's commands, stores what it returns before it
// answers, and calls Tick at the deadline Next names.
package incident
