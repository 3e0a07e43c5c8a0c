package persist

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sync"
	"testing"
	"time"
)

func openTopic(t *testing.T, dir string, opts ...Option) *Topic {
	t.Helper()
	tp, err := OpenTopic(dir, append([]Option{WithLogger(quiet)}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	return tp
}

func firstSeq(t *testing.T, tp *Topic, at StartAt) uint64 {
	t.Helper()
	r, err := tp.NewReader(at)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	var m TopicMessage
	if err := r.Next(&m); err != nil {
		if errors.Is(err, io.EOF) {
			return 0
		}
		t.Fatal(err)
	}
	if m.Topic != "t" || string(m.Data) != fmt.Sprint(m.Seq) {
		t.Fatalf("message %+v", m)
	}
	return m.Seq
}

func TestTopicStartPoints(t *testing.T) {
	dir := t.TempDir()
	tp := openTopic(t, dir, WithSegmentSize(4<<10), WithIndexInterval(256))
	const n = 600
	times := make([]int64, n+1)
	for i := uint64(1); i <= n; i++ {
		seq, err := tp.Publish("t", []byte("h"), []byte(fmt.Sprint(i)), nil)
		if err != nil || seq != i {
			t.Fatal(seq, err)
		}
		if i%100 == 0 {
			time.Sleep(2 * time.Millisecond) // distinct time stamps to seek to
		}
	}
	tp.Sync(context.Background())
	tp.Log().Maintain()
	// Learn each message's time from the journal.
	r, _ := tp.NewReader(StartFirst())
	var m TopicMessage
	for r.Next(&m) == nil {
		times[m.Seq] = m.Time
	}
	r.Close()
	tp.Close()
	tp = openTopic(t, dir, WithSegmentSize(4<<10), WithIndexInterval(256))
	defer tp.Close()
	if got := firstSeq(t, tp, StartFirst()); got != 1 {
		t.Fatalf("first: %d", got)
	}
	if got := firstSeq(t, tp, StartLast()); got != n {
		t.Fatalf("last: %d", got)
	}
	if got := firstSeq(t, tp, StartSeq(333)); got != 333 {
		t.Fatalf("seq 333: %d", got)
	}
	for _, i := range []int{1, 100, 101, 250, 401, 600} {
		want := i
		for want > 1 && times[want-1] == times[i] {
			want--
		}
		if got := firstSeq(t, tp, StartTime(time.Unix(0, times[i]))); got != uint64(want) {
			t.Fatalf("time of %d: got %d, want %d", i, got, want)
		}
	}
	if got := firstSeq(t, tp, StartTime(time.Unix(0, times[n]+1))); got != 0 {
		t.Fatalf("after the end: %d", got)
	}
}

// TestTopicReplayThenLive replays a topic while a publisher keeps going,
// then follows live: every message exactly once, in order.
func TestTopicReplayThenLive(t *testing.T) {
	tp := openTopic(t, t.TempDir(), WithSegmentSize(8<<10))
	defer tp.Close()
	n := uint64(scale(5000, 2000))
	for i := uint64(1); i <= n/4; i++ {
		tp.Publish("t", nil, []byte(fmt.Sprint(i)), nil)
	}
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for i := n/4 + 1; i <= n; i++ {
			if _, err := tp.Publish("t", nil, []byte(fmt.Sprint(i)), nil); err != nil {
				t.Error(err)
				return
			}
		}
	}()
	r, _ := tp.NewReader(StartFirst())
	defer r.Close()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	var m TopicMessage
	replayed := 0
	live := false
	for r.LastSeq() < n {
		err := r.Next(&m)
		if errors.Is(err, io.EOF) {
			live = true // caught up: from here on, follow live
			if err := r.Wait(ctx); err != nil {
				t.Fatal(err)
			}
			continue
		}
		if err != nil {
			t.Fatal(err)
		}
		if !live {
			replayed++
		}
		if string(m.Data) != fmt.Sprint(m.Seq) || m.Seq != r.LastSeq() {
			t.Fatalf("message %d: %q", m.Seq, m.Data)
		}
	}
	wg.Wait()
	t.Logf("%d replayed, %d live", replayed, n-uint64(replayed))
}

func TestTopicRetention(t *testing.T) {
	for _, tc := range []struct {
		name string
		r    Retention
	}{
		{"bytes", Retention{MaxBytes: 16 << 10}},
		{"messages", Retention{MaxMessages: 300}},
		{"age", Retention{MaxAge: time.Nanosecond}},
	} {
		t.Run("by="+tc.name, func(t *testing.T) {
			tp := openTopic(t, t.TempDir(), WithSegmentSize(4<<10), WithRetention(tc.r), WithCompression(CodecNone))
			defer tp.Close()
			const n = 2000
			for i := 1; i <= n; i++ {
				tp.Publish("t", nil, []byte(fmt.Sprint(i)), nil)
			}
			tp.Sync(context.Background())
			if err := tp.Log().Maintain(); err != nil {
				t.Fatal(err)
			}
			segs := tp.Log().segmentsSnapshot()
			first := firstSeq(t, tp, StartFirst())
			var bytes int64
			for _, s := range segs {
				bytes += s.fileSize
			}
			switch {
			case tc.r.MaxBytes > 0 && (bytes > tc.r.MaxBytes || bytes+4<<10 < tc.r.MaxBytes/2):
				t.Fatalf("%d bytes kept", bytes)
			case tc.r.MaxMessages > 0 && (n-first+1 > uint64(tc.r.MaxMessages) || n-first+1 < uint64(tc.r.MaxMessages)/2):
				t.Fatalf("%d messages kept", n-first+1)
			case tc.r.MaxAge > 0 && len(segs) != 1:
				t.Fatalf("%d segments kept", len(segs))
			}
			if first == 1 {
				t.Fatal("nothing dropped")
			}
			// The oldest kept message is what the first reader sees.
			if got := firstSeq(t, tp, StartSeq(1)); got != first {
				t.Fatalf("StartSeq(1) gave %d, first is %d", got, first)
			}
		})
	}
}
