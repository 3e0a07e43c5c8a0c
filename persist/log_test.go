package persist

import (
	"bytes"
	"context"
	"errors"
	"io"
	"sync"
	"testing"
)

func TestAppendReopenRead(t *testing.T) {
	for _, codec := range []Codec{CodecNone, CodecZstd, CodecS2} {
		t.Run("codec="+codec.String(), func(t *testing.T) {
			dir := t.TempDir()
			opts := []Option{WithSegmentSize(8 << 10), WithCompression(codec), WithIndexInterval(512)}
			l := mustOpen(t, dir, opts...)
			const n = 1000
			for i := 1; i <= n; i++ {
				seq, err := l.Append(7, payloadOf(i))
				if err != nil || seq != uint64(i) {
					t.Fatalf("Append %d: seq %d, %v", i, seq, err)
				}
			}
			if err := l.Sync(context.Background()); err != nil {
				t.Fatal(err)
			}
			if err := l.Maintain(); err != nil {
				t.Fatal(err)
			}
			if got := readAll(t, l, 0); len(got) != n {
				t.Fatalf("read %d records before close, want %d", len(got), n)
			}
			if err := l.Close(); err != nil {
				t.Fatal(err)
			}
			l = mustOpen(t, dir, opts...)
			defer l.Close()
			if s := l.Stats(); s.Segments < 3 {
				t.Fatalf("%d segments, want several", s.Segments)
			}
			got := readAll(t, l, 0)
			if len(got) != n {
				t.Fatalf("read %d records, want %d", len(got), n)
			}
			for i, rec := range got {
				if rec.Seq != uint64(i+1) || rec.Type != 7 || !bytes.Equal(rec.Payload, payloadOf(i+1)) {
					t.Fatalf("record %d: %+v", i, rec)
				}
			}
			// From the middle, through the sparse index.
			if got := readAll(t, l, 777); len(got) != n-776 || got[0].Seq != 777 {
				t.Fatalf("from 777: %d records, first %+v", len(got), got[0])
			}
			if seq, _ := l.Append(7, []byte("after")); seq != n+1 {
				t.Fatalf("seq after reopen %d", seq)
			}
		})
	}
}

func TestConfirmationsPerPolicy(t *testing.T) {
	for _, d := range []Durability{DurabilityNone, DurabilityBatch, DurabilitySync} {
		t.Run("policy="+d.String(), func(t *testing.T) {
			l := mustOpen(t, t.TempDir(), WithDurability(d))
			var mu sync.Mutex
			var confirmed []uint64
			const n = 200
			var wg sync.WaitGroup
			wg.Add(n)
			for i := 0; i < n; i++ {
				_, err := l.AppendNotify(1, payloadOf(i), func(seq uint64, err error) {
					if err != nil {
						t.Error(err)
					}
					if d != DurabilityNone && l.Durable() < seq {
						t.Errorf("seq %d confirmed before fsync (durable %d)", seq, l.Durable())
					}
					mu.Lock()
					confirmed = append(confirmed, seq)
					mu.Unlock()
					wg.Done()
				})
				if err != nil {
					t.Fatal(err)
				}
			}
			wg.Wait()
			if err := l.WaitConfirmed(context.Background(), n); err != nil {
				t.Fatal(err)
			}
			for i, s := range confirmed {
				if s != uint64(i+1) {
					t.Fatalf("confirmation %d is seq %d", i, s)
				}
			}
			if err := l.Close(); err != nil {
				t.Fatal(err)
			}
			st := l.Stats()
			if st.Records != n || st.Fsyncs == 0 || st.Durable != n {
				t.Fatalf("stats %+v", st)
			}
			if _, err := l.Append(1, nil); !errors.Is(err, ErrClosed) {
				t.Fatalf("append after close: %v", err)
			}
		})
	}
}

func TestGroupCommit(t *testing.T) {
	l := mustOpen(t, t.TempDir(), WithDurability(DurabilitySync))
	defer l.Close()
	var wg sync.WaitGroup
	const senders, each = 8, 50
	for g := 0; g < senders; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < each; i++ {
				seq, err := l.Append(1, payloadOf(i))
				if err == nil {
					err = l.WaitConfirmed(context.Background(), seq)
				}
				if err != nil {
					t.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	st := l.Stats()
	if st.Synced != senders*each || st.Fsyncs > st.Synced {
		t.Fatalf("stats %+v", st)
	}
	t.Logf("%d records, %d fsyncs, %.1f records per fsync", st.Synced, st.Fsyncs, st.RecordsPerFsync)
}

func TestAppendErrors(t *testing.T) {
	l := mustOpen(t, t.TempDir(), WithMaxRecordSize(100))
	defer l.Close()
	if _, err := l.Append(0, nil); !errors.Is(err, ErrBadType) {
		t.Fatal(err)
	}
	if _, err := l.Append(1, make([]byte, 101)); !errors.Is(err, ErrTooLarge) {
		t.Fatal(err)
	}
	for _, o := range []Option{WithSegmentSize(10), WithDurability(9), WithBatch(0, 1), WithCompression(7), WithCompactRatio(0), WithMaxRecordSize(-1)} {
		if _, err := Open(t.TempDir(), o); !errors.Is(err, ErrInvalidOption) {
			t.Fatalf("bad option accepted: %v", err)
		}
	}
}

func TestAppendAllocs(t *testing.T) {
	l := mustOpen(t, t.TempDir(), WithDurability(DurabilityNone))
	defer l.Close()
	p := make([]byte, 128)
	done := func(uint64, error) {}
	for i := 0; i < 1000; i++ { // grow the buffers
		l.AppendNotify(1, p, done)
	}
	l.Flush(context.Background())
	allocs := testing.AllocsPerRun(1000, func() {
		if _, err := l.AppendNotify(1, p, done); err != nil {
			t.Fatal(err)
		}
	})
	if allocs > 0.05 { // a rare buffer growth when the writer lags
		t.Fatalf("%.2f allocations per Append", allocs)
	}
}

func TestReaderFollowsLive(t *testing.T) {
	l := mustOpen(t, t.TempDir(), WithSegmentSize(4<<10))
	defer l.Close()
	r := l.NewReader(0)
	defer r.Close()
	if _, err := r.Next(); !errors.Is(err, io.EOF) {
		t.Fatalf("empty log: %v", err)
	}
	const n = 2000
	go func() {
		for i := 1; i <= n; i++ {
			l.Append(1, payloadOf(i))
		}
	}()
	for want := uint64(1); want <= n; {
		ch := l.Changed()
		rec, err := r.Next()
		if errors.Is(err, io.EOF) {
			<-ch
			continue
		}
		if err != nil {
			t.Fatal(err)
		}
		if rec.Seq != want || !bytes.Equal(rec.Payload, payloadOf(int(want))) {
			t.Fatalf("got seq %d, want %d", rec.Seq, want)
		}
		want++
	}
}
