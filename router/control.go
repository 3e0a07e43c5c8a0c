package router

import (
	"errors"
	"fmt"
	"net"
	"syscall"
	"time"

	"github.com/shmbus/shmbus/internal/conn"
	"github.com/shmbus/shmbus/internal/wire"
	"github.com/shmbus/shmbus/ipc"
	"github.com/shmbus/shmbus/ring"
)

// ErrRefused is wrapped by every reason a connection was refused.
var ErrRefused = errors.New("shmbus: connection refused")

func (r *Router) accept() {
	for {
		uc, err := r.ln.AcceptUnix()
		if err != nil {
			if r.stopping.Load() {
				return
			}
			r.cfg.Logger.Warn("accept", "err", err)
			time.Sleep(10 * time.Millisecond)
			continue
		}
		r.mu.Lock()
		if r.closed {
			r.mu.Unlock()
			uc.Close()
			return
		}
		r.conns[uc] = struct{}{}
		r.mu.Unlock()
		r.wg.Add(1)
		go func() {
			defer r.wg.Done()
			r.serve(uc)
			r.mu.Lock()
			delete(r.conns, uc)
			r.mu.Unlock()
			uc.Close()
		}()
	}
}

// peerCred reads the connecting process's credentials (SO_PEERCRED).
func peerCred(uc *net.UnixConn) (*syscall.Ucred, error) {
	raw, err := uc.SyscallConn()
	if err != nil {
		return nil, err
	}
	var cred *syscall.Ucred
	var serr error
	if err := raw.Control(func(fd uintptr) {
		cred, serr = syscall.GetsockoptUcred(int(fd), syscall.SOL_SOCKET, syscall.SO_PEERCRED)
	}); err != nil {
		return nil, err
	}
	return cred, serr
}

// serve handles one control connection: the handshake, then waiting for
// the client to go (socket EOF or process death, whichever is seen first).
func (r *Router) serve(uc *net.UnixConn) {
	log := r.cfg.Logger
	cred, err := peerCred(uc)
	if err != nil {
		log.Warn("peer credentials", "err", err)
		return
	}
	uc.SetDeadline(time.Now().Add(r.cfg.StuckTimeout))
	var hello wire.Hello
	if err := wire.ReadControl(uc, &hello); err != nil {
		log.Warn("handshake", "pid", cred.Pid, "err", err)
		return
	}
	c, err := r.admit(&hello, cred)
	if err != nil {
		log.Warn("connection refused", "pid", cred.Pid, "name", hello.Name, "segment", hello.Segment, "err", err)
		wire.WriteControl(uc, wire.Welcome{Version: wire.ProtocolVersion, Error: err.Error()})
		return
	}
	// The loop registers the Hello's subscriptions before the Welcome goes
	// out: a reconnecting client treats the Welcome as "my subscriptions are
	// live", so nothing published after it may miss them.
	c.sock = uc // the loop closes it to drop the client (corrupt ring)
	added := make(chan struct{})
	r.post(event{add: c, added: added})
	select {
	case <-added:
	case <-time.After(r.cfg.StuckTimeout):
		log.Error("event loop did not take the client", "id", c.id)
		r.post(event{remove: c})
		return
	}
	w := wire.Welcome{Version: wire.ProtocolVersion, ConnID: c.id, Inbox: c.inbox, MaxPayload: c.maxPayload}
	if err := wire.WriteControl(uc, w); err != nil {
		r.post(event{remove: c})
		return
	}
	uc.SetDeadline(time.Time{})
	watch, werr := ipc.Watch(ipc.Process{PID: int(cred.Pid), StartTime: c.proc.StartTime})
	log.Info("client connected", "id", c.id, "name", c.name, "pid", cred.Pid, "uid", cred.Uid, "resumed", hello.ConnID != 0)

	eof := make(chan struct{})
	go func() {
		var b [1]byte
		for {
			if _, err := uc.Read(b[:]); err != nil {
				close(eof)
				return
			}
		}
	}()
	var died <-chan struct{}
	if werr == nil {
		defer watch.Close()
		died = watch.Done()
	}
	gone := false
	select {
	case <-eof:
	case <-died:
		gone = true
	}
	if !gone && werr == nil {
		gone = !watch.Alive()
	}
	if r.stopping.Load() {
		return // the loop detaches everyone at shutdown
	}
	r.post(event{remove: c, dead: gone})
	uc.Close()
	<-eof
	if !gone && died != nil {
		// The kernel closes a dying process's files (our EOF) before it
		// reports the death (the pidfd), so a client killed by a signal
		// usually still looks alive here. Its segment file, which it can no
		// longer remove itself, goes once the death shows. A client that
		// closed and lives on removed its own file, or will.
		select {
		case <-died:
			if err := ipc.Remove(r.cfg.Dir, hello.Segment); err == nil {
				log.Info("dead client's segment removed", "id", c.id, "name", c.name, "segment", hello.Segment)
			}
		case <-time.After(deathGrace):
		case <-r.quit:
		}
	}
}

// deathGrace is how long after a client's EOF the router watches for its
// process to die (see serve).
const deathGrace = time.Second

// admit validates a Hello and attaches the client's segment.
func (r *Router) admit(h *wire.Hello, cred *syscall.Ucred) (*client, error) {
	if h.Version != wire.ProtocolVersion {
		return nil, fmt.Errorf("protocol version %d, router speaks %d: %w", h.Version, wire.ProtocolVersion, ErrRefused)
	}
	seg, err := conn.Open(h.Segment, r.cfg.ipcOpts()...)
	if err != nil {
		return nil, fmt.Errorf("segment %q: %w", h.Segment, errors.Join(ErrRefused, err))
	}
	fail := func(err error) (*client, error) {
		seg.Close(false)
		return nil, errors.Join(ErrRefused, err)
	}
	if hdr := seg.Seg.Header(); hdr.CreatorPID != int64(cred.Pid) {
		return fail(fmt.Errorf("segment %q was created by pid %d, not by the connecting pid %d", h.Segment, hdr.CreatorPID, cred.Pid))
	}
	proc := ipc.Process{PID: int(cred.Pid), StartTime: seg.Seg.Header().CreatorStart}
	for _, s := range h.Subs {
		if s.Queue != "" {
			continue // a queue consumer: the loop checks it (and tells the client)
		}
		if err := ValidatePattern(s.Pattern); err != nil {
			return fail(fmt.Errorf("subscription %d: %w", s.SID, err))
		}
	}
	in, err := ring.NewConsumer(seg.In, ring.WithDeferredRelease())
	if err != nil {
		return fail(fmt.Errorf("in ring: %w", err))
	}
	out, err := ring.NewProducer(seg.Out)
	if err != nil {
		in.Close()
		return fail(fmt.Errorf("out ring: %w", err))
	}
	id, err := r.takeID(h.ConnID)
	if err != nil {
		in.Close()
		out.Close()
		return fail(err)
	}
	c := newClient(id, h, proc, seg, in, out)
	return c, nil
}

// takeID reserves a connection id: the one a reconnecting client asks for
// if it is free, a new one otherwise.
func (r *Router) takeID(want uint64) (uint64, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.inUse) >= r.cfg.MaxClients {
		return 0, fmt.Errorf("%d clients connected, the maximum", len(r.inUse))
	}
	if want != 0 && want <= maxID && !r.inUse[want] {
		r.inUse[want] = true
		if want > r.nextID {
			r.nextID = want
			r.ids.room = 0 // the next new id is reserved anew, above want
		}
		return want, nil
	}
	for {
		r.nextID = r.nextID%maxID + 1
		r.reserveID(r.nextID)
		if !r.inUse[r.nextID] {
			r.inUse[r.nextID] = true
			return r.nextID, nil
		}
	}
}

func (r *Router) freeID(id uint64) {
	r.mu.Lock()
	delete(r.inUse, id)
	r.mu.Unlock()
}
