package bus

import (
	"context"
	"fmt"
	"net"
	"path/filepath"
	"time"

	"github.com/shmbus/shmbus/internal/conn"
	"github.com/shmbus/shmbus/internal/wire"
	"github.com/shmbus/shmbus/ring"
)

// handshake dials the router's socket, sends h and reads the Welcome, all
// within the connect timeout; Close aborts it.
func (c *Conn) handshake(h *wire.Hello) (net.Conn, *wire.Welcome, error) {
	path := filepath.Join(c.opts.dir, wire.SocketName)
	ctx, cancel := context.WithTimeout(c.ctx, c.opts.timeout)
	defer cancel()
	var d net.Dialer
	sock, err := d.DialContext(ctx, "unix", path)
	if err != nil {
		return nil, nil, fmt.Errorf("%w: %w", ErrNoRouter, err)
	}
	// Closing the socket is what interrupts a Write or Read in progress
	// when the timeout passes or Close is called.
	stop := context.AfterFunc(ctx, func() { sock.Close() })
	fail := func(what string, err error) (net.Conn, *wire.Welcome, error) {
		stop()
		sock.Close()
		switch {
		case c.ctx.Err() != nil:
			return nil, nil, ErrConnectionClosed
		case ctx.Err() != nil:
			return nil, nil, fmt.Errorf("shmbus: handshake with router at %s: no answer within %v: %w", path, c.opts.timeout, ErrTimeout)
		}
		return nil, nil, fmt.Errorf("%w: handshake with router at %s: %s: %w", ErrNoRouter, path, what, err)
	}
	if err := wire.WriteControl(sock, h); err != nil {
		return fail("hello", err)
	}
	var w wire.Welcome
	if err := wire.ReadControl(sock, &w); err != nil {
		return fail("welcome", err)
	}
	if !stop() {
		return fail("welcome", context.Cause(ctx))
	}
	switch {
	case w.Error != "":
		sock.Close()
		return nil, nil, fmt.Errorf("%w: %s", ErrRefused, w.Error)
	case w.Version != wire.ProtocolVersion:
		sock.Close()
		return nil, nil, fmt.Errorf("%w: router speaks protocol version %d, this client %d", ErrRefused, w.Version, wire.ProtocolVersion)
	}
	return sock, &w, nil
}

// watch waits for the control socket's EOF (the router is gone), then
// reconnects, for as long as the Conn lives.
func (c *Conn) watch(sock net.Conn) {
	defer close(c.watchDone)
	var buf [64]byte
	for sock != nil {
		var err error
		for err == nil {
			_, err = sock.Read(buf[:]) // the router sends nothing after the Welcome
		}
		if c.closing.Load() {
			return
		}
		c.connected.Store(false)
		if h := c.opts.disconnected; h != nil {
			lost := fmt.Errorf("%w: control socket: %w", ErrNoRouter, err)
			c.cb.push(func() { h(c, lost) }, false)
		}
		sock = c.reconnect()
	}
}

// reconnect redials until it succeeds, the Conn closes, or the attempts run
// out (then it closes the Conn). It returns the new socket, or nil.
func (c *Conn) reconnect() net.Conn {
	wait := c.opts.reconnectWait
	maxWait := max(wait, MaxReconnectWait)
	for n := 0; c.opts.maxReconnects < 0 || n < c.opts.maxReconnects; n++ {
		t := time.NewTimer(wait)
		select {
		case <-c.ctx.Done():
			t.Stop()
			return nil
		case <-t.C:
		}
		wait = min(2*wait, maxWait)
		sock, err := c.reattach()
		if err == nil {
			c.stats.reconnects.Add(1)
			c.connected.Store(true)
			if h := c.opts.reconnected; h != nil {
				c.cb.push(func() { h(c) }, false)
			}
			return sock
		}
		if c.ctx.Err() != nil {
			return nil
		}
	}
	c.shutdown(fromWatcher)
	return nil
}

// reattach is one reconnect attempt: map the router segment again, point
// the producer at its doorbell, and say Hello with the same segment and
// connection id and every subscription the old router had registered.
func (c *Conn) reattach() (net.Conn, error) {
	rs, err := openRouter(c.opts.dir)
	if err != nil {
		return nil, err
	}
	hello, head, err := c.repoint(rs)
	if err != nil {
		return nil, err
	}
	sock, w, err := c.handshake(hello)
	if err != nil {
		return nil, err
	}
	c.mu.Lock()
	if c.ctx.Err() != nil { // Close ran meanwhile and closed the old socket
		c.mu.Unlock()
		sock.Close()
		return nil, ErrConnectionClosed
	}
	c.sock = sock
	c.mu.Unlock()
	if err := c.applyWelcome(w); err != nil {
		c.asyncErr(nil, err) // requests may not work; everything else does
	}
	c.resendPings()
	c.sweepLost(head)
	return sock, nil
}

// repoint swaps in the freshly mapped router segment rs (a restarted
// router reuses the file, but it may have been made anew) and builds the
// reconnecting Hello. The producer is reattached because it keeps a pointer
// to the doorbell in the old mapping, which is unmapped here.
//
// Which subscriptions go in the Hello: those whose TypeSub record the old
// router consumed (the record ends at or before the in ring's head). A
// subscription still waiting in the ring is left out, because the new
// router will read its record after registering the Hello's: listing it
// too would register it twice. An Unsubscribe removes the subscription
// from the table at once, so it is never listed; its TypeUnsub record may
// then reach a router that never knew the sid, which must ignore it.
//
// It also returns the in ring's head: how far the old router read.
func (c *Conn) repoint(rs *conn.RouterSegment) (*wire.Hello, uint64, error) {
	c.pmu.Lock()
	defer c.pmu.Unlock()
	if c.prodClosed {
		rs.Close()
		return nil, 0, ErrConnectionClosed
	}
	c.prod.Close()
	p, err := ring.NewProducer(c.seg.In, ring.WithConsumerDoorbell(rs.Bell))
	if err != nil {
		p, err = ring.NewProducer(c.seg.In, ring.WithConsumerDoorbell(c.rseg.Bell))
		rs.Close()
		if err != nil {
			c.prodClosed = true
			go c.shutdown(fromUser)
			return nil, 0, fmt.Errorf("shmbus: reconnect: reattaching the in ring: %w", err)
		}
	} else {
		c.rseg.Close()
		c.rseg = rs
	}
	c.prod = p
	c.roomBell.Store(p.Doorbell())
	st, err := ring.ReadSPSCStats(c.seg.In)
	if err != nil {
		return nil, 0, fmt.Errorf("shmbus: reconnect: in ring: %w", err)
	}
	h := &wire.Hello{Version: wire.ProtocolVersion, Name: c.opts.name, Segment: c.segName, ConnID: c.connID}
	c.subsMu.RLock()
	for _, s := range c.subs {
		if s.pos <= st.Head {
			h.Subs = append(h.Subs, s.spec())
		}
	}
	c.subsMu.RUnlock()
	return h, st.Head, nil
}
