package protocol

// SplitSnapshot packs a full snapshot's declarations into batches that each
// encode to at most budget bytes (sequence numbers left at zero for the
// sender to fill in). A declaration too large for one batch is sent with the
// rows that fit, and its remaining rows follow as Updates that add rows.
// The first batch carries SnapshotStart and the last SnapshotEnd; an empty
// snapshot is one batch with both.
func SplitSnapshot(decls []Declare, budget int) []Batch {
	var (
		out  []Batch
		cur  Batch
		size = batchOverhead
	)
	flush := func() {
		out = append(out, cur)
		cur = Batch{}
		size = batchOverhead
	}
	for _, d := range decls {
		n := len(d.append(nil))
		if size+n <= budget {
			cur.Declares = append(cur.Declares, d)
			size += n
			continue
		}
		if len(cur.Declares)+len(cur.Updates) > 0 {
			flush()
		}
		if batchOverhead+n <= budget {
			cur.Declares = append(cur.Declares, d)
			size += n
			continue
		}
		// Too big for any one batch: declare it with no rows, then send the
		// rows in updates that fill each batch.
		rows := d.Rows
		d.Rows = nil
		cur.Declares = append(cur.Declares, d)
		size += len(d.append(nil))
		u := Update{ID: d.ID, SampleTime: d.SampleTime}
		uSize := len(u.append(nil))
		for _, r := range rows {
			rn := len(appendRows(nil, []RowDecl{r}))
			// A row that does not fit starts the next batch, even the
			// first row after the declaration; only a row too big for
			// an empty batch is sent over the budget.
			if size+uSize+rn > budget && len(u.AddRows)+len(cur.Declares)+len(cur.Updates) > 0 {
				if len(u.AddRows) > 0 {
					cur.Updates = append(cur.Updates, u)
				}
				flush()
				u = Update{ID: d.ID, SampleTime: d.SampleTime}
				uSize = len(u.append(nil))
			}
			u.AddRows = append(u.AddRows, r)
			uSize += rn
		}
		if len(u.AddRows) > 0 {
			cur.Updates = append(cur.Updates, u)
			size += uSize
		}
	}
	flush()
	out[0].Flags |= SnapshotStart
	out[len(out)-1].Flags |= SnapshotEnd
	return out
}

// batchOverhead bounds a batch's bytes besides its declarations and updates:
// kind, sequence number, flags and three counts.
const batchOverhead = 1 + 10 + 1 + 3*5
