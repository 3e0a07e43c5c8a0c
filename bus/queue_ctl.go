package bus

import (
	"context"
	"fmt"

	"github.com/shmbus/shmbus/internal/wire"
)

// Queue management: each call writes a TypeCtl record (JSON body) into the
// ring and waits for the router's TypeCtlReply with the same token. The
// calls without a context wait up to the queue timeout (WithQueueTimeout);
// a passed deadline is reported as ErrTimeout, and then the router may
// still carry the request out. Like Request, they cannot be answered while
// they block the dispatcher: do not call them from a handler of the same
// Conn.

// ctlResult is a TypeCtlReply as the dispatcher hands it over.
type ctlResult struct {
	op   uint16
	code uint32
	body []byte // owned copy
}

var ctlOpNames = map[uint16]string{
	wire.CtlDeclare: "declare queue",
	wire.CtlDelete:  "delete queue",
	wire.CtlBind:    "bind queue",
	wire.CtlUnbind:  "unbind queue",
	wire.CtlPurge:   "purge queue",
	wire.CtlInfo:    "queue info",
	wire.CtlList:    "list queues",
}

// DeclareQueue creates the queue name with cfg, or checks that it exists
// with that config: declaring again with the same config is a no-op that
// returns the queue's info, with another config it fails with
// ErrQueueConflict (zero fields compare as the router's defaults). An
// empty name declares a private queue: the router names it (see the
// returned Name) and deletes it when this connection closes; it does not
// survive a router restart either.
func (c *Conn) DeclareQueue(name string, cfg QueueConfig) (*QueueInfo, error) {
	ctx, cancel := c.queueCtx()
	defer cancel()
	return c.DeclareQueueWithContext(ctx, name, cfg)
}

// DeclareQueueWithContext is DeclareQueue bounded by ctx.
func (c *Conn) DeclareQueueWithContext(ctx context.Context, name string, cfg QueueConfig) (*QueueInfo, error) {
	if name != "" {
		if err := checkQueueName(name); err != nil {
			return nil, err
		}
	}
	if err := cfg.check(); err != nil {
		return nil, err
	}
	return c.ctlInfo(ctx, wire.CtlDeclare, name, wire.QueueDeclare{Name: name, Config: cfg.toWire()})
}

// DeleteQueue deletes the queue name and every message in it; its
// consumers end (ErrQueueDeleted to the error handler).
func (c *Conn) DeleteQueue(name string) error {
	ctx, cancel := c.queueCtx()
	defer cancel()
	return c.DeleteQueueWithContext(ctx, name)
}

// DeleteQueueWithContext is DeleteQueue bounded by ctx.
func (c *Conn) DeleteQueueWithContext(ctx context.Context, name string) error {
	if err := checkQueueName(name); err != nil {
		return err
	}
	_, err := c.ctlInfo(ctx, wire.CtlDelete, name, wire.QueueRef{Name: name})
	return err
}

// BindQueue makes the queue name take every message published to a topic
// that pattern matches ('*' and '>' as in Subscribe), besides what is
// sent to it. Binding a pattern twice is a no-op.
func (c *Conn) BindQueue(name, pattern string) error {
	ctx, cancel := c.queueCtx()
	defer cancel()
	return c.BindQueueWithContext(ctx, name, pattern)
}

// BindQueueWithContext is BindQueue bounded by ctx.
func (c *Conn) BindQueueWithContext(ctx context.Context, name, pattern string) error {
	return c.bind(ctx, wire.CtlBind, name, pattern)
}

// UnbindQueue removes a binding made by BindQueue.
func (c *Conn) UnbindQueue(name, pattern string) error {
	ctx, cancel := c.queueCtx()
	defer cancel()
	return c.UnbindQueueWithContext(ctx, name, pattern)
}

// UnbindQueueWithContext is UnbindQueue bounded by ctx.
func (c *Conn) UnbindQueueWithContext(ctx context.Context, name, pattern string) error {
	return c.bind(ctx, wire.CtlUnbind, name, pattern)
}

func (c *Conn) bind(ctx context.Context, op uint16, name, pattern string) error {
	if err := checkQueueName(name); err != nil {
		return err
	}
	if err := ValidatePattern(pattern); err != nil {
		return fmt.Errorf("%w: binding: %w", ErrQueueInvalid, err)
	}
	_, err := c.ctlInfo(ctx, op, name, wire.QueueBinding{Name: name, Pattern: pattern})
	return err
}

// PurgeQueue removes every ready and delayed message of the queue name
// (deliveries in flight stay with their consumers) and returns how many
// it removed.
func (c *Conn) PurgeQueue(name string) (int, error) {
	ctx, cancel := c.queueCtx()
	defer cancel()
	return c.PurgeQueueWithContext(ctx, name)
}

// PurgeQueueWithContext is PurgeQueue bounded by ctx.
func (c *Conn) PurgeQueueWithContext(ctx context.Context, name string) (int, error) {
	if err := checkQueueName(name); err != nil {
		return 0, err
	}
	info, err := c.ctlInfo(ctx, wire.CtlPurge, name, wire.QueueRef{Name: name})
	if err != nil {
		return 0, err
	}
	return int(info.Purged), nil
}

// QueueInfo returns the config, state and counters of the queue name.
func (c *Conn) QueueInfo(name string) (*QueueInfo, error) {
	ctx, cancel := c.queueCtx()
	defer cancel()
	return c.QueueInfoWithContext(ctx, name)
}

// QueueInfoWithContext is QueueInfo bounded by ctx.
func (c *Conn) QueueInfoWithContext(ctx context.Context, name string) (*QueueInfo, error) {
	if err := checkQueueName(name); err != nil {
		return nil, err
	}
	return c.ctlInfo(ctx, wire.CtlInfo, name, wire.QueueRef{Name: name})
}

// Queues returns every queue's info, sorted by name.
func (c *Conn) Queues() ([]QueueInfo, error) {
	ctx, cancel := c.queueCtx()
	defer cancel()
	return c.QueuesWithContext(ctx)
}

// QueuesWithContext is Queues bounded by ctx.
func (c *Conn) QueuesWithContext(ctx context.Context) ([]QueueInfo, error) {
	var ws []wire.QueueInfo
	if err := c.ctl(ctx, wire.CtlList, "", nil, &ws); err != nil {
		return nil, err
	}
	out := make([]QueueInfo, 0, len(ws))
	for i := range ws {
		qi, err := queueInfoOf(&ws[i])
		if err != nil {
			return nil, err
		}
		out = append(out, qi)
	}
	return out, nil
}

func (c *Conn) queueCtx() (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.Background(), c.opts.queueTimeout)
}

// ctlInfo runs a Ctl op whose reply is one QueueInfo.
func (c *Conn) ctlInfo(ctx context.Context, op uint16, name string, req any) (*QueueInfo, error) {
	var w wire.QueueInfo
	if err := c.ctl(ctx, op, name, req, &w); err != nil {
		return nil, err
	}
	qi, err := queueInfoOf(&w)
	if err != nil {
		return nil, err
	}
	return &qi, nil
}

// ctl writes one Ctl request and waits for its reply, decoding the body
// into resp. name is for the error messages.
func (c *Conn) ctl(ctx context.Context, op uint16, name string, req, resp any) error {
	what := ctlOpNames[op]
	if name != "" {
		what += fmt.Sprintf(" %q", name)
	}
	if c.closing.Load() {
		return ErrConnectionClosed
	}
	var body []byte
	if req != nil {
		var err error
		if body, err = wire.MarshalCtlBody(req); err != nil {
			return fmt.Errorf("shmbus: %s: %w: %w", what, ErrQueueInvalid, err)
		}
	}
	token := c.ctlSeq.Add(1)
	ch := make(chan ctlResult, 1)
	c.ctlMu.Lock()
	c.ctls[token] = ch
	c.ctlMu.Unlock()
	defer func() {
		c.ctlMu.Lock()
		delete(c.ctls, token)
		c.ctlMu.Unlock()
	}()
	f := wire.Ctl{Token: token, Op: op, Body: body}
	buf, err := c.lockedClaim(wire.TypeCtl, f.Size())
	if err != nil {
		return fmt.Errorf("shmbus: %s: %w", what, err)
	}
	f.Encode(buf)
	c.prod.Commit()
	c.pmu.Unlock()
	var r ctlResult
	select {
	case r = <-ch:
	case <-ctx.Done():
		return fmt.Errorf("shmbus: %s: %w", what, ctxErr(ctx))
	case <-c.closedCh:
		return ErrConnectionClosed
	}
	switch {
	case r.op != op:
		return fmt.Errorf("%w: %s: the router answered op %d", ErrRejected, what, r.op)
	case r.code != wire.CodeOK:
		return fmt.Errorf("shmbus: %s: %w", what, codeErr(r.code, r.body))
	case resp != nil:
		if err := wire.UnmarshalCtlBody(op, r.body, resp); err != nil {
			return fmt.Errorf("shmbus: %s: undecodable answer: %w", what, err)
		}
	}
	return nil
}

// onCtlReply hands a TypeCtlReply to the ctl call waiting for its token.
func (c *Conn) onCtlReply(p []byte) {
	f := &c.ctlf
	if err := wire.DecodeCtl(p, f); err != nil {
		c.asyncErr(nil, fmt.Errorf("shmbus: undecodable queue reply from the router: %w", err))
		return
	}
	c.ctlMu.Lock()
	ch := c.ctls[f.Token]
	delete(c.ctls, f.Token)
	c.ctlMu.Unlock()
	if ch != nil {
		ch <- ctlResult{op: f.Op, code: f.Code, body: append([]byte(nil), f.Body...)}
	}
}
