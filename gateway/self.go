package gateway

import (
	"context"
	"strconv"
	"time"

	"github.com/watchfloor/watchfloor/gateway/config"
	"github.com/watchfloor/watchfloor/gateway/incident"
	"github.com/watchfloor/watchfloor/netprobe/protocol"
	"github.com/watchfloor/watchfloor/rules"
	"github.com/watchfloor/watchfloor/samplers"
)

// The gateway's own probe: the gateway shows its own state as dataviews
// of a probe of its own, named config.SelfProbe, whose entity "gateway"
// runs the sampler "self" (type "gateway"). They go through the same
// path as any probe's — rules judge them, walls show them, history keeps
// them — fed in process, once a second, instead of over a connection.
const (
	selfEntity   = "gateway"
	selfSampler  = "self"
	selfType     = "gateway"
	selfInterval = time.Second
	selfID       = 1 // the self sampler's instance ID: the probe runs no other
)

// selfConfig is what the gateway's own probe runs.
func selfConfig(cfg *config.Config) *probeConfig {
	in := instance{id: selfID, entity: selfEntity, sampler: selfSampler, typ: selfType, interval: selfInterval}
	return &probeConfig{
		instances: map[uint32]instance{selfID: in},
		entities:  []entityConfig{{name: selfEntity, attrs: map[string]string{"role": "gateway"}, samplers: []instance{in}}},
		limits:    limitsOf(cfg),
	}
}

// startSelf starts the gateway's own probe's actor and the goroutine that
// feeds it, both stopped by ctx. Run owns them.
func (g *Gateway) startSelf(ctx context.Context, cfg *config.Config) (done <-chan struct{}) {
	a := newProbeActor(g, config.SelfProbe, selfConfig(cfg), g.actorConsumers())
	a.local = true
	g.mu.Lock()
	g.self = a
	g.mu.Unlock()
	g.hub.Touch(treeTopic, subtreeKeyPrefix+samplers.EscapeSegment(config.SelfProbe))
	g.wg.Go(func() { a.run(ctx) })
	fed := make(chan struct{})
	go func() {
		defer close(fed)
		g.feedSelf(ctx, a)
	}()
	return fed
}

// feedSelf sends the gateway's own dataviews to its actor each second, as
// a whole snapshot: reconciled by name, only what changed changes.
//
// It sends one at once, too, when a work cycle's phase or a schedule
// changes (on the gateway's clock), so the change is shown and judged at
// its instant.
func (g *Gateway) feedSelf(ctx context.Context, a *probeActor) {
	t := time.NewTicker(selfInterval)
	defer t.Stop()
	boundary := g.clock.NewTimer()
	defer boundary.Stop()
	for {
		now := g.clock.Now()
		b := g.selfBatch(now)
		if !a.send(ctx, event{kind: evLocal, batch: b}) {
			return
		}
		boundary.Stop()
		g.mu.RLock()
		next := nextBoundary(now, &g.cfg.Calendars)
		g.mu.RUnlock()
		if !next.IsZero() {
			// From the clock now, not from before the batch was sent:
			// sending may have waited.
			boundary.Reset(next.Sub(g.clock.Now()))
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		case <-boundary.C():
		}
	}
}

// selfBatch is the gateway's own dataviews at now: "history" (the
// in-memory window), "remote-write" (a row per target), "incidents",
// "actions" (a row per action), "probes", and the calendars'
// "work-cycles", "schedules" and "desks" (calendars.go).
func (g *Gateway) selfBatch(now time.Time) *protocol.Batch {
	at := now.UnixNano()
	num := func(n int64) samplers.Cell { return samplers.Int(n) }
	hs := g.hist.Stats()
	hist := protocol.Declare{
		ID: 1, SamplerID: selfID, Name: "history", SampleTime: at,
		Headlines:  []string{"series", "dataviews", "bytes", "pointsAppended", "samplesRefused"},
		HeadValues: []samplers.Cell{num(int64(hs.Series)), num(int64(hs.Views)), num(hs.Bytes), num(int64(hs.Points)), num(int64(hs.Refused))},
	}
	rw := protocol.Declare{
		ID: 2, SamplerID: selfID, Name: "remote-write", SampleTime: at,
		Columns: []string{"url", "sent", "pending", "dropped", "rejected", "retries", "requests", "lastSuccess", "lastError"},
	}
	var dropped int64
	for i, st := range g.exportStats() {
		dropped += int64(st.Dropped)
		last := ""
		if !st.LastSuccess.IsZero() {
			last = st.LastSuccess.UTC().Format(time.RFC3339)
		}
		rw.Rows = append(rw.Rows, protocol.RowDecl{Index: uint32(i), Name: st.name, Cells: []samplers.Cell{
			samplers.Text(st.url), num(int64(st.Sent)), num(int64(st.Pending)), num(int64(st.Dropped)),
			num(int64(st.Rejected)), num(int64(st.Retries)), num(int64(st.Requests)), samplers.Text(last), samplers.Text(st.LastError),
		}})
	}
	rw.Headlines = []string{"targets", "dropped"}
	rw.HeadValues = []samplers.Cell{samplers.Text(strconv.Itoa(len(rw.Rows))), num(dropped)}
	g.mu.RLock()
	cal := selfCalendars(at, now, &g.cfg.Calendars)
	g.mu.RUnlock()
	return &protocol.Batch{Flags: protocol.SnapshotStart | protocol.SnapshotEnd,
		Declares: append([]protocol.Declare{hist, rw, g.selfIncidents(at, now), g.selfActions(at), g.selfProbes(at)}, cal...)}
}

// selfIncidents is the "incidents" dataview: how many are open, waiting
// on people, and how the desk keeps up (transitions waiting, writes that
// failed).
func (g *Gateway) selfIncidents(at int64, now time.Time) protocol.Declare {
	var open, unacked, critical, escalated, overdue, snoozed int64
	incs, cells := g.desk.liveIncidents(func(inc *incident.Incident) bool { return inc.State == incident.Open })
	for i := range incs {
		inc := &incs[i]
		open++
		if inc.Ack == nil && inc.Severity > rules.OK {
			unacked++
		}
		if inc.Severity == rules.Critical {
			critical++
		}
		if inc.Escalation.Level > 0 {
			escalated++
		}
		if inc.UpdateOverdue(now) {
			overdue++
		}
		if inc.Snooze != nil {
			snoozed++
		}
	}
	m := &g.desk.m
	return protocol.Declare{
		ID: 3, SamplerID: selfID, Name: "incidents", SampleTime: at,
		Headlines: []string{"open", "unacknowledged", "critical", "escalated", "clientUpdatesOverdue", "snoozed", "cellsSnoozed",
			"transitionsPending", "writeFailures", "transitionsLost"},
		HeadValues: []samplers.Cell{samplers.Int(open), samplers.Int(unacked), samplers.Int(critical), samplers.Int(escalated),
			samplers.Int(overdue), samplers.Int(snoozed), samplers.Int(int64(len(cells))), samplers.Int(int64(g.trans.q.Len())),
			samplers.Int(int64(m.writeFailures.Get())), samplers.Int(int64(m.lostTransitions.Get()))},
	}
}

// selfActions is the "actions" dataview: a row per action, with what it
// sent, what failed and what waits.
func (g *Gateway) selfActions(at int64) protocol.Declare {
	d := protocol.Declare{
		ID: 4, SamplerID: selfID, Name: "actions", SampleTime: at,
		Columns:   []string{"type", "sent", "failed", "dropped", "retries", "queued", "lastSuccess", "lastError", "lastErrorAt"},
		Headlines: []string{"actions", "failed", "dropped", "queued"},
	}
	var failed, dropped, queued int64
	for i, st := range g.desk.acts.Stats() {
		failed += int64(st.Failed)
		dropped += int64(st.Dropped)
		queued += int64(st.Queued)
		d.Rows = append(d.Rows, protocol.RowDecl{Index: uint32(i), Name: st.Name, Cells: []samplers.Cell{
			samplers.Text(st.Type), samplers.Int(int64(st.Sent)), samplers.Int(int64(st.Failed)), samplers.Int(int64(st.Dropped)),
			samplers.Int(int64(st.Retries)), samplers.Int(int64(st.Queued)), samplers.Text(rfc3339Time(st.LastSuccess)),
			samplers.Text(st.LastError), samplers.Text(rfc3339Time(st.LastErrorAt)),
		}})
	}
	d.HeadValues = []samplers.Cell{samplers.Int(int64(len(d.Rows))), samplers.Int(failed), samplers.Int(dropped), samplers.Int(queued)}
	return d
}

// selfProbes is the "probes" dataview: how many probes are configured,
// connected and down.
func (g *Gateway) selfProbes(at int64) protocol.Declare {
	g.mu.RLock()
	configured := int64(len(g.actors))
	g.mu.RUnlock()
	connected := int64(g.connectedProbes())
	return protocol.Declare{
		ID: 5, SamplerID: selfID, Name: "probes", SampleTime: at,
		Headlines:  []string{"configured", "connected", "down"},
		HeadValues: []samplers.Cell{samplers.Int(configured), samplers.Int(connected), samplers.Int(configured - connected)},
	}
}

func rfc3339Time(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(time.RFC3339)
}
