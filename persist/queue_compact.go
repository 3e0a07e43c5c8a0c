package persist

import (
	"encoding/binary"
	"fmt"
)

// CompactStats says what a queue compaction did.
type CompactStats struct {
	Segments  int   // sealed segments examined
	Deleted   int   // segments deleted: no record in them was still needed
	Rewritten int   // segments rewritten with only the records still needed
	Dropped   int64 // records dropped
	Bytes     int64 // file bytes freed
}

// Compact shrinks the queue journal. Sealed segments are examined oldest
// first; in each, the records still needed are:
//   - enqueues of live messages (rewritten with their current delivery
//     count, so naks for them in the same segment are not needed);
//   - acks and dead-letters whose message's enqueue is still on disk in an
//     older segment (without them it would come back to life);
//   - naks of live messages enqueued in another segment.
//
// A segment that needs none is deleted; one where the unneeded fraction is
// at least the compact ratio (WithCompactRatio) is rewritten in place with
// the needed records only, keeping their sequence numbers, so Recover's
// order is unchanged; others are left alone. The active segment is never
// touched. Each replacement is a temporary file, fsynced, renamed over the
// old one: a crash leaves one or the other, both valid.
func (q *Queue) Compact() (CompactStats, error) {
	l := q.log
	l.maintMu.Lock()
	defer l.maintMu.Unlock()
	var st CompactStats
	onDisk := map[uint64]struct{}{} // ids whose enqueue stays in an older segment
	segs := l.segmentsSnapshot()
	for _, s := range segs {
		_, sealed, _ := l.segState(s)
		if !sealed {
			break
		}
		st.Segments++
		h, data, err := readSegment(s.path)
		if err != nil {
			return st, err
		}
		var keep []byte
		var total, needed int64
		var enqueued []uint64
		var scratch QueueMessage
		bad, torn, err := scanRecords(data, 0, func(off int, rec Record) error {
			total++
			id, ok := decodeID(rec.Payload)
			if !ok {
				return fmt.Errorf("%w: %s at offset %d", ErrBadPayload, s.path, off)
			}
			q.mu.Lock()
			lm, live := q.live[id]
			q.mu.Unlock()
			live = live && (rec.Type != TypeEnqueue || lm.seq == rec.Seq)
			_, older := onDisk[id]
			need := false
			payload := rec.Payload
			switch rec.Type {
			case TypeEnqueue:
				if err := decodeEnqueue(rec.Payload, &scratch); err != nil {
					return fmt.Errorf("%w (%s at offset %d)", err, s.path, off)
				}
				enqueued = append(enqueued, id)
				if need = live; need && lm.deliveries != scratch.Deliveries {
					scratch.Deliveries = lm.deliveries
					payload = appendEnqueue(nil, &scratch)
				}
			case TypeAck, TypeDeadLetter:
				need = older
			case TypeNak:
				need = live && older
			default:
				need = true // not ours: keep
			}
			if need {
				needed++
				keep = appendRecord(keep, rec.Type, rec.Seq, rec.Time, payload)
			}
			return nil
		})
		if err == nil && (len(bad) > 0 || torn != nil) {
			err = fmt.Errorf("%w: %s: compaction found bad records; run Verify", ErrCorrupt, s.path)
		}
		if err != nil {
			return st, err
		}
		l.segMu.RLock()
		before := s.fileSize
		l.segMu.RUnlock()
		switch {
		case needed == 0 && s != segs[len(segs)-1]:
			if err := l.dropSegment(s); err != nil {
				return st, err
			}
			st.Deleted++
			st.Dropped += total
			st.Bytes += before
			continue
		case total > 0 && float64(total-needed)/float64(total) >= l.o.compactRatio:
			if err := l.replaceSegment(s, h, keep, true); err != nil {
				return st, err
			}
			st.Rewritten++
			st.Dropped += total - needed
			l.segMu.RLock()
			st.Bytes += before - s.fileSize
			l.segMu.RUnlock()
			_, _, err = scanRecords(keep, 0, func(_ int, rec Record) error {
				if rec.Type == TypeEnqueue {
					onDisk[binary.LittleEndian.Uint64(rec.Payload)] = struct{}{}
				}
				return nil
			})
		default:
			for _, id := range enqueued {
				onDisk[id] = struct{}{}
			}
		}
	}
	if st.Deleted+st.Rewritten > 0 {
		l.log.Info("persist: queue compacted", "dir", l.dir, "deleted", st.Deleted, "rewritten", st.Rewritten, "records", st.Dropped, "bytes", st.Bytes)
	}
	return st, nil
}
