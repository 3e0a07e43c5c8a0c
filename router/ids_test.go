package router

import (
	"errors"
	"io"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/shmbus/shmbus/internal/wire"
	"github.com/shmbus/shmbus/ring"
)

func startRouterAt(t *testing.T, dir string) *Router {
	t.Helper()
	r, err := New(Config{Dir: dir, Logger: testLogger(t)})
	if err != nil {
		t.Fatal(err)
	}
	if err := r.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.Close() })
	return r
}

// A new client of a restarted router never gets an id an earlier router
// gave out (subscribers that lived through the restart would take its
// messages for repeats), even when it connects before the earlier clients
// reconnect; a reconnecting client still gets its own id back.
func TestConnectionIDsUniqueAcrossRestarts(t *testing.T) {
	dir := t.TempDir()
	seen := map[uint64]bool{}
	var first *rawClient
	for round := range 3 {
		r := startRouterAt(t, dir)
		for range 3 {
			c := dialRaw(t, dir)
			if seen[c.id] {
				t.Fatalf("round %d: new client got id %d, handed out before", round, c.id)
			}
			seen[c.id] = true
			if first == nil {
				first = c
			}
		}
		r.Close()
	}
	r := startRouterAt(t, dir)
	back := dialRaw(t, dir) // takes the next id: then ask for first's
	back.close()
	re := dialRawHello(t, dir, first.id)
	if re.id != first.id {
		t.Fatalf("reconnecting client asked for id %d, got %d", first.id, re.id)
	}
	r.Close()
	if b, err := os.ReadFile(filepath.Join(dir, IDsName)); err != nil || len(b) == 0 {
		t.Fatalf("reservation file: %q, %v", b, err)
	}
}

// dialRawHello is dialRaw for a client reconnecting with id.
func dialRawHello(t *testing.T, dir string, id uint64) *rawClient {
	t.Helper()
	c := dialRaw(t, dir) // a fresh segment and connection...
	c.sock.Close()       // ...that leaves at once, and comes back as id
	c.sock = nil
	c.prod.Close()
	c.cons.Close()
	for deadline := time.Now().Add(10 * time.Second); ; {
		sock, w, err := helloAs(dir, filepath.Base(c.seg.Seg.Path()), id)
		if err == nil {
			c.sock, c.w, c.id = sock, w, w.ConnID
			break
		}
		if time.Now().After(deadline) {
			t.Fatal(err)
		}
		time.Sleep(time.Millisecond) // the router has not let go of the old one yet
	}
	var err error
	if c.prod, err = ring.NewProducer(c.seg.In); err != nil {
		t.Fatal(err)
	}
	if c.cons, err = ring.NewConsumer(c.seg.Out); err != nil {
		t.Fatal(err)
	}
	return c
}

// The router drops a client whose ring holds garbage, tells it why and
// closes its control socket, so that the client sees the disconnect.
func TestCorruptRingDisconnects(t *testing.T) {
	r := startRouter(t)
	evil := dialRaw(t, r.Dir())
	settle(evil)
	data := evil.seg.In[len(evil.seg.In)-evil.seg.InCap:]
	for i := range data {
		data[i] = 0x41
	}
	r.rseg.Bell.Ring()
	evil.sock.SetReadDeadline(time.Now().Add(10 * time.Second))
	var b [1]byte
	if _, err := evil.sock.Read(b[:]); !errors.Is(err, io.EOF) {
		t.Fatalf("control socket of a corrupt client: %v, want EOF", err)
	}
	msgs := evil.drain(0)
	if len(msgs) != 1 || msgs[0].typ != wire.TypeErr || msgs[0].code != wire.CodeBadRecord {
		t.Fatalf("corrupt client got %+v, want one bad-record error", msgs)
	}
}

// helloAs says Hello for segment as a client reconnecting with id.
func helloAs(dir, segment string, id uint64) (*net.UnixConn, wire.Welcome, error) {
	var w wire.Welcome
	sock, err := net.DialUnix("unix", nil, &net.UnixAddr{Name: filepath.Join(dir, wire.SocketName), Net: "unix"})
	if err != nil {
		return nil, w, err
	}
	if err := wire.WriteControl(sock, wire.Hello{Version: wire.ProtocolVersion, Name: segment, Segment: segment, ConnID: id}); err != nil {
		sock.Close()
		return nil, w, err
	}
	if err := wire.ReadControl(sock, &w); err != nil {
		sock.Close()
		return nil, w, err
	}
	if w.Error != "" {
		sock.Close()
		return nil, w, errors.New(w.Error)
	}
	return sock, w, nil
}
