// Package remotewrite sends samples to a Prometheus-compatible store
// (Prometheus, VictoriaMetrics, Mimir, ...) by remote write 1.0: a
// protobuf WriteRequest, snappy block compressed, POSTed with
// Content-Encoding: snappy and X-Prometheus-Remote-Write-Version: 0.1.0.
// It is built so that its caller — a probe's actor, once per event —
// never waits on the store.
//
// # Buffering
//
// Add copies samples into a bounded FIFO buffer under one short lock and
// returns; it never does I/O. The buffer holds at most
// Options.BufferSize samples, counting those in the request being sent
// (about 24 bytes each, in chunks freed as the buffer empties). What does
// not fit is dropped at once and counted (samples_dropped_total): the
// newest samples are the ones lost, and the caller is never slowed.
//
// Run is the only sender. It sends a request as soon as BatchSize samples
// are buffered, and what is buffered every FlushInterval. A request's
// samples are grouped by series, one TimeSeries each with its samples in
// time order, and the series' labels are encoded once, when the Series is
// made. The request body buffers are reused. There is never more than one
// request in flight, so the store gets samples in the order they were
// added.
//
// # Failures
//
// A 2xx counts the request's samples as sent. A 5xx, a 429, a timeout
// (Options.Timeout per request) or a connection error is retried: the
// same request stays at the head, and is sent again after a backoff that
// doubles from MinBackoff up to MaxBackoff, jittered; a success resets it.
// Meanwhile Add keeps buffering up to BufferSize. Any other status (a
// 4xx: the store will never take these samples) counts the request's
// samples as rejected and drops them, and the store's reason (the first
// 256 bytes of the body) is logged. Failures are logged at most once per
// 10s of each kind, with the number held back; a recovery is logged
// once. Prometheus refuses a whole request for one sample out of order
// or too old, so after an outage longer than its head block (about an
// hour) buffered samples may be rejected.
//
// # Resend and staleness
//
// A store forgets a series that has had no sample for its lookback (5m in
// Prometheus), but a cell that does not change produces no sample. So the
// sender keeps, for each series, its newest sample sent and when, in a
// list ordered by that time; at most once a second it resends, at Now, the
// last value of each series not sent for Options.Resend. Only the head of
// the list is looked at, so the cost follows the series due, not the
// series held, and Add does none of this work. Resends fill the room left
// in a request after buffered samples: they never take buffer space or
// displace real samples, and they wait while the store is failing.
//
// Forget sends Prometheus' staleness marker (a NaN with bits
// 0x7ff0000000000002) at Now, so queries stop returning the series at
// once, and the series is not resent again. Timestamps of a series never
// go backwards through the Writer's own doing: a staleness marker, or a
// sample that arrives after a resend, that is not later than the series'
// newest sample sent is moved to 1 ms after it.
//
// # Metrics
//
// In Options.Metrics, each with the label target="Name":
//
//	watchfloor_remote_write_samples_sent_total      accepted (2xx), resends included
//	watchfloor_remote_write_samples_dropped_total   not buffered: the buffer was full
//	watchfloor_remote_write_samples_rejected_total  refused by the store (4xx)
//	watchfloor_remote_write_retries_total           requests sent again
//	watchfloor_remote_write_requests_total          requests sent, retries included
//	watchfloor_remote_write_pending_samples         buffered or being sent
//	watchfloor_remote_write_last_success_timestamp_seconds
//
// A Writer made with the Name of an earlier one on the same Set continues
// its counters, so a reload that replaces a Writer keeps them; two Writers
// running at once need different Names.
//
// # Goroutines
//
// New starts nothing. Run's caller owns the one sender goroutine; Run
// returns when its context ends, after at most a second spent sending
// what is left once, and leaves no goroutine behind (the default HTTP
// client's idle connections are closed).
package remotewrite
