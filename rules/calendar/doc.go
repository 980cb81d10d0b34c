// Package calendar is the time model of trading systems: when a schedule
// is active and which phase of its day a system is in. It is pure: it does
// no I/O and reads no clock; every question takes the instant it is about.
//
// # Days, windows and zones
//
// Everything is said on a zone's wall clock, as an exchange says it: LSE
// opens at 08:00 Europe/London every trading day, which is 08:00 UTC in
// winter and 07:00 UTC in summer. A Schedule is active in its Windows on
// its Days. A window belongs to the day it starts on: 22:00–02:00 on
// Fridays is active from Friday 22:00 to Saturday 02:00. 00:00–24:00 is
// all day, and no windows means all day.
//
// # Holidays and half days
//
// A holiday is a date on which no window starts and a work cycle stays
// Closed; a window that started the day before still ends as usual. A
// half day is a date with an early close: a Schedule's windows starting
// that day end at the close at the latest, and a WorkCycle's End of Day
// moves to the close, the phases after it following by their usual
// distances. ParseICS reads both from an exchange's iCalendar file.
//
// # Work cycles and phases
//
// A WorkCycle gives each trading day its phases, starting at their clocks:
// Beginning of Day, Intraday, End of Day, Closed (and any subset, in any
// order the day runs). A day's cycle runs from its first phase start to
// the next day's first start, so the last phase of a day runs overnight,
// or over a weekend; a day that is not a trading day, or is a holiday, is
// Closed for its whole cycle. SeveralHours, AroundTheClock and SixDays
// build the usual shapes.
//
// # Changes of clock
//
// When clocks go forward, the wall times in between do not happen: a
// window or phase that would start at 02:30 on the night New York skips
// 02:00–03:00 starts at 03:00 EDT, the instant the clocks jump, and one
// that would end then ends then. If two phase starts fall in the gap,
// only the later one is seen. When clocks go back, the wall times of the
// repeated hour happen twice: a start or an end there takes the first
// occurrence, and the schedule or phase stays as it is through the second.
//
// # Maintenance
//
// A Maintenance is planned time: one-off, from a Start to an End, or
// recurring, a Window on Days (a Schedule of one window underneath),
// optionally bounded by a Start and an End. ParseWallTime reads the
// bounds as wall times in the zone, as schedules take their clocks.
//
// # Use
//
// Check validates a Schedule, WorkCycle or Maintenance, reporting every
// problem with its field, and prepares it; Active, Next and At are then
// cheap (no allocation, some tens of nanoseconds), and safe for
// concurrent use. Next and At look up to 400 days ahead (and At as far
// back) for a change.
package calendar
