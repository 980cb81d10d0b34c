package gateway

import (
	"context"
	"time"

	"github.com/VictoriaMetrics/metrics"
	"github.com/watchfloor/watchfloor/gateway/config"
	"github.com/watchfloor/watchfloor/gateway/history"
	"github.com/watchfloor/watchfloor/gateway/remotewrite"
	"github.com/watchfloor/watchfloor/rules"
)

// probeNow is the event's time by the probe's clock, Unix ns: the
// gateway's clock moved by the offset between the two that dv's latest
// sample showed. History records in the probe's time, as samples are.
func (a *probeActor) probeNow(dv *Dataview) int64 {
	now := a.ch.Now.UnixNano()
	if dv.sampledAt == 0 {
		return now
	}
	return dv.sampleTime + now - dv.sampledAt
}

// histRow returns the history of row of dv (its headlines if row is
// nil), and the view's indexes of dv's columns (or headlines). The
// caller has begun a sample of dv.hist.
func histRow(dv *Dataview, row *rowState) (*history.Row, []int32) {
	v := dv.hist
	if dv.histLayout != v.Layout() || dv.histCols == nil {
		dv.histLayout = v.Layout()
		dv.histCols = make([]int32, len(dv.columns))
		for i, c := range dv.columns {
			dv.histCols[i] = v.Column(false, c)
		}
		dv.histHeads = make([]int32, len(dv.headlines))
		for i, h := range dv.headlines {
			dv.histHeads[i] = v.Column(true, h)
		}
	}
	if row == nil {
		if dv.headHist == nil {
			dv.headHist = v.Row(true, "")
		}
		return dv.headHist, dv.histHeads
	}
	if row.hist == nil {
		row.hist = v.Row(false, row.name)
	}
	return row.hist, dv.histCols
}

// record writes what the event changed into the history: each sampled
// dataview's sample time, the new value of each numeric cell that
// changed, StaleNaN for each cell that went or turned to text; and queues
// for the remote_write targets each numeric change and each change of
// severity. The caller is finish, under the probe's lock.
func (a *probeActor) record() {
	h := a.g.hist
	x := a.g.exports.cur.Load()
	if x != nil && len(x.targets) == 0 {
		x = nil
	}
	if x != nil && len(a.expBuf) < len(x.targets) {
		a.expBuf = append(a.expBuf, make([][]remotewrite.Sample, len(x.targets)-len(a.expBuf))...)
	}
	// Targets changed (a reload): every live cell, changed or not, sends
	// what a new target lacks, after this event's changes. So too when
	// the configuration changed: its cells' labels may have. The reload
	// installs the targets before the actor gets the configuration, and
	// an event in between sees the one change without the other.
	full := x != nil && (x.gen != a.exportGen || a.labelsGen != a.exportLabels)
	if x != nil {
		a.exportGen, a.exportLabels = x.gen, a.labelsGen
	} else if a.exportGen != 0 {
		// Every target went (a reload): their writers have stopped, and
		// what the cells kept for them goes too.
		a.exportGen = 0
		a.dropExports()
	}
	for i := range a.ch.Dataviews {
		d := &a.ch.Dataviews[i]
		dv := d.dv
		if prev := dv.replaces; prev != nil {
			dv.replaces = nil
			carryRecords(prev, dv, ms(dv.sampleTime))
		}
		if d.Removed {
			if dv.hist != nil {
				dv.hist.Gone(ms(a.probeNow(dv)))
			}
			forgetExports(dv)
			continue
		}
		if d.StaleChanged && dv.staleNow {
			// Its probe stopped sampling it: the stores are told at once,
			// rather than shown its last values, resent, as if it were live.
			forgetExports(dv)
		}
		refs := a.ch.cells[d.cellsFrom:d.cellsTo]
		removed := a.ch.removedRowStates[d.removedFrom:d.removedTo]
		recorded := d.sampled || len(removed) > 0 || valued(refs)
		if !recorded && x == nil {
			continue
		}
		t, now := ms(dv.sampleTime), ms(a.probeNow(dv))
		if recorded {
			if dv.hist == nil {
				dv.hist = h.View(dv.path)
			}
			dv.hist.Begin(t)
		}
		for k := range refs {
			c := &refs[k]
			if c.row != nil && c.row.gone || c.quiet && c.rejudge {
				continue // gone (below), or judged again with nothing changed
			}
			cell := cellAt(dv, c.row, c.col)
			if !c.rejudge {
				r, cols := histRow(dv, c.row)
				x := rules.StaleNaN // it turned to text: no number until it holds one again
				if cell.isNum {
					x = cell.num
				}
				dv.hist.Add(r, cols[c.col], x)
			}
			if x != nil {
				a.exportCell(x, dv, c, cell, t, now)
			}
		}
		for _, r := range removed {
			if r.hist != nil {
				dv.hist.RowGone(r.hist)
			}
			forgetAll(r.exp)
		}
		if x != nil && d.StaleChanged && !dv.staleNow {
			// Back from stale: every cell starts its series again, with
			// the value it holds (those that changed have just done so).
			dv.cells(func(row *rowState, col int, cell *cellState) {
				a.exportCell(x, dv, &cellRef{row: row, col: int32(col), rejudge: true}, cell, t, now)
			})
		}
		if recorded {
			dv.hist.End()
		}
	}
	if full {
		for _, dv := range a.dvs {
			if dv.staleNow {
				continue
			}
			t, now := ms(dv.sampleTime), ms(a.probeNow(dv))
			dv.cells(func(row *rowState, col int, cell *cellState) {
				a.exportCell(x, dv, &cellRef{row: row, col: int32(col), rejudge: true}, cell, t, now)
			})
		}
	}
	if x != nil {
		a.flushExport(x)
	}
}

// valued reports whether some of refs changed a value, rather than being
// only judged again.
func valued(refs []cellRef) bool {
	for _, c := range refs {
		if !c.rejudge {
			return true
		}
	}
	return false
}

// historySweep is how often the history drops what its windows left
// behind, for the cells that stopped changing and the dataviews that
// went; cells that change drop their own as they go.
const historySweep = 10 * time.Second

// sweepHistory sweeps the history until ctx ends. Run owns it.
func (g *Gateway) sweepHistory(ctx context.Context) {
	t := time.NewTicker(historySweep)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			g.hist.Sweep(g.clock.Now())
		}
	}
}

// historyOptions are the history windows cfg gives.
func historyOptions(cfg *config.Config) history.Options {
	opts := history.Options{Default: cfg.History.Window}
	for _, w := range cfg.History.Windows {
		opts.Windows = append(opts.Windows, history.Window{Pattern: w.Pattern, Keep: w.Window})
	}
	return opts
}

func (g *Gateway) historyMetrics(set *metrics.Set) {
	set.NewGauge("watchfloor_history_series", func() float64 { return float64(g.hist.Stats().Series) })
	set.NewGauge("watchfloor_history_dataviews", func() float64 { return float64(g.hist.Stats().Views) })
	set.NewGauge("watchfloor_history_bytes", func() float64 { return float64(g.hist.Stats().Bytes) })
	set.NewGauge("watchfloor_history_points_held", func() float64 { return float64(g.hist.Stats().Held) })
}

// carryRecords gives dv, which replaced prev in this event (a declaration
// with other columns or headlines), the history and the exported series
// of prev's cells it has too, by row and column name: they go on as one
// series, unbroken, even if they do not change. prev's cells that dv
// lacks went: at t (Unix ms), dv's sample time, each gets StaleNaN in
// the history, which lets the sweep drop it once the window has passed
// it, and a staleness marker in the stores.
func carryRecords(prev, dv *Dataview, t int64) {
	v := prev.hist
	dv.hist, dv.headHist = v, prev.headHist
	if v != nil {
		v.Begin(t)
		defer v.End()
	}
	heads := make(map[string]int, len(dv.headlines))
	for i, h := range dv.headlines {
		heads[h] = i
	}
	for j, name := range prev.headlines {
		if i, ok := heads[name]; ok {
			if prev.headExp != nil && prev.headExp[j].gen != 0 {
				if dv.headExp == nil {
					dv.headExp = make([]cellExport, len(dv.head))
				}
				dv.headExp[i], prev.headExp[j] = prev.headExp[j], cellExport{}
			}
		} else if v != nil && prev.headHist != nil {
			r, hs := histRow(prev, nil)
			v.Add(r, hs[j], rules.StaleNaN)
		}
	}
	cols := make(map[string]int, len(dv.columns))
	for i, c := range dv.columns {
		cols[c] = i
	}
	for _, old := range prev.rows {
		if old == nil || old.gone {
			continue
		}
		var r *rowState
		if k, ok := dv.rowIndex[old.name]; ok {
			r = dv.rows[k]
			r.hist = old.hist
		}
		for j, name := range prev.columns {
			if i, ok := cols[name]; ok && r != nil {
				if old.exp != nil && old.exp[j].gen != 0 {
					if r.exp == nil {
						r.exp = make([]cellExport, len(r.cells))
					}
					r.exp[i], old.exp[j] = old.exp[j], cellExport{}
				}
			} else if v != nil && old.hist != nil {
				hr, cs := histRow(prev, old)
				v.Add(hr, cs[j], rules.StaleNaN)
			}
		}
	}
	forgetExports(prev) // the series of the cells dv lacks
}

// forgetExports ends the exported series of every cell of dv.
func forgetExports(dv *Dataview) {
	forgetAll(dv.headExp)
	for _, r := range dv.rows {
		if r != nil {
			forgetAll(r.exp)
		}
	}
}

// dropExports lets go of every live cell's export state, whose writers
// have stopped: nothing is left to tell.
func (a *probeActor) dropExports() {
	for _, dv := range a.dvs {
		dv.headExp = nil
		for _, r := range dv.rows {
			if r != nil {
				r.exp = nil
			}
		}
	}
}
