package main

import (
	"bytes"
	"strings"
	"testing"

	"github.com/shmbus/shmbus/persist"
)

func TestJournalCommand(t *testing.T) {
	dir := t.TempDir()
	q, err := persist.OpenQueue(dir, persist.WithSegmentSize(4<<10))
	if err != nil {
		t.Fatal(err)
	}
	for i := uint64(1); i <= 100; i++ {
		if _, err := q.Enqueue(&persist.QueueMessage{ID: i, Topic: "orders", Payload: []byte("hello")}, nil); err != nil {
			t.Fatal(err)
		}
		if i%2 == 0 {
			q.Ack(i, nil)
		}
	}
	if err := q.Close(); err != nil {
		t.Fatal(err)
	}
	for _, verb := range []string{"verify", "stat", "dump", "compact", "verify"} {
		var out bytes.Buffer
		if err := runJournal([]string{verb, dir}, &out); err != nil {
			t.Fatalf("journal %s: %v\n%s", verb, err, out.String())
		}
		want := map[string]string{"verify": "ok", "stat": "50 live", "dump": "type=enqueue id=1 ", "compact": "segments examined"}[verb]
		if !strings.Contains(out.String(), want) {
			t.Fatalf("journal %s: no %q in\n%s", verb, want, out.String())
		}
	}
	if err := runJournal([]string{"bogus", dir}, new(bytes.Buffer)); err == nil {
		t.Fatal("unknown action accepted")
	}
}
