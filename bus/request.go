package bus

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"
)

type reqResult struct {
	msg *Msg
	err error
}

// Request publishes data to topic with a reply topic on this connection's
// inbox and waits up to timeout for the first answer (an owned copy). It
// fails with ErrNoResponders when the router finds no subscriber for topic,
// and with ErrTimeout when no answer comes.
//
// Do not call it from a Subscribe handler of the same Conn: the answer is
// delivered by the dispatcher that runs the handler (see the package
// documentation).
func (c *Conn) Request(topic string, data []byte, timeout time.Duration) (*Msg, error) {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	return c.request(ctx, topic, nil, data)
}

// RequestWithContext is Request bounded by ctx; a passed deadline is
// reported as ErrTimeout (wrapping ctx.Err()).
func (c *Conn) RequestWithContext(ctx context.Context, topic string, data []byte) (*Msg, error) {
	return c.request(ctx, topic, nil, data)
}

// RequestMsg is Request with headers: m.Topic, m.Header and m.Data are
// sent (m.Reply is replaced by the inbox).
func (c *Conn) RequestMsg(m *Msg, timeout time.Duration) (*Msg, error) {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	return c.request(ctx, m.Topic, m.Header, m.Data)
}

// RequestMsgWithContext is RequestMsg bounded by ctx.
func (c *Conn) RequestMsgWithContext(ctx context.Context, m *Msg) (*Msg, error) {
	return c.request(ctx, m.Topic, m.Header, m.Data)
}

func (c *Conn) request(ctx context.Context, topic string, h Header, data []byte) (*Msg, error) {
	ib := c.inbox.Load()
	if c.closing.Load() || ib == nil {
		return nil, ErrConnectionClosed
	}
	token := c.reqSeq.Add(1)
	ch := make(chan reqResult, 1)
	c.reqMu.Lock()
	c.reqs[token] = ch
	c.reqMu.Unlock()
	defer func() {
		c.reqMu.Lock()
		delete(c.reqs, token)
		c.reqMu.Unlock()
	}()
	reply := ib.prefix + "." + strconv.FormatUint(token, 10)
	if err := c.publish(topic, reply, h, data); err != nil {
		return nil, err
	}
	select {
	case r := <-ch:
		if r.err != nil {
			return nil, fmt.Errorf("shmbus: request to %q: %w", topic, r.err)
		}
		return r.msg, nil
	case <-ctx.Done():
		return nil, fmt.Errorf("shmbus: request to %q: %w", topic, ctxErr(ctx))
	case <-c.closedCh:
		return nil, ErrConnectionClosed
	}
}

// ctxErr reports a context's end, as ErrTimeout when its deadline passed.
func ctxErr(ctx context.Context) error {
	err := ctx.Err()
	if errors.Is(err, context.DeadlineExceeded) {
		return fmt.Errorf("%w: %w", ErrTimeout, err)
	}
	return err
}
