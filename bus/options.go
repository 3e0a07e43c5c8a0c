package bus

import (
	"fmt"
	"math/bits"
	"time"

	"github.com/shmbus/shmbus/internal/selector"
	"github.com/shmbus/shmbus/internal/wire"
	"github.com/shmbus/shmbus/ipc"
	"github.com/shmbus/shmbus/ring"
)

// Defaults of the connection options.
const (
	DefaultRingSize       = 1 << 20 // bytes of each ring, in and out
	DefaultTimeout        = 2 * time.Second
	DefaultPublishTimeout = 2 * time.Second
	DefaultFlushTimeout   = 10 * time.Second
	DefaultDrainTimeout   = 30 * time.Second
	DefaultReconnectWait  = 100 * time.Millisecond
	// MaxReconnectWait caps the doubling of the reconnect delay (unless
	// WithReconnectWait asks for more).
	MaxReconnectWait = 2 * time.Second
	// DefaultPendingLimit is the buffer of a SubscribeSync subscription.
	DefaultPendingLimit = 8192
	// DefaultQueueTimeout bounds the queue calls made without a context:
	// DeclareQueue and the other queue-management calls, Send's wait for
	// its confirm, Consume's wait for the router to accept it.
	DefaultQueueTimeout = 5 * time.Second
	// DefaultPrefetch is how many deliveries a consumer has in flight at
	// most, unless Prefetch says otherwise.
	DefaultPrefetch = 64
)

// Option configures Connect. Options are checked when Connect applies them;
// a bad one makes Connect fail with an error wrapping ErrInvalidOption.
type Option func(*options) error

// ConnHandler is called on connection events (reconnected, closed).
type ConnHandler func(*Conn)

// ConnErrHandler is called when the connection loses its router; err says
// how.
type ConnErrHandler func(*Conn, error)

// ErrHandler is called with asynchronous errors: messages dropped for a slow
// consumer (sub set, ErrSlowConsumer), a subscription refused by the router
// (ErrBadSubscription), a record the router rejected (ErrRejected).
//
// All handlers run one at a time on a goroutine of their own, never on the
// dispatcher, in the order the events happened; they may call any method of
// the Conn. Error events that pile up faster than the handler returns are
// dropped beyond a backlog of maxCallbackBacklog (they are still counted).
type ErrHandler func(*Conn, *Subscription, error)

type options struct {
	dir            string
	gid            int // -1: segment for this user only
	name           string
	newIdle        func() ipc.IdleStrategy
	timeout        time.Duration
	publishTimeout time.Duration
	drainTimeout   time.Duration
	queueTimeout   time.Duration
	inCap, outCap  int
	reconnectWait  time.Duration
	maxReconnects  int
	errHandler     ErrHandler
	disconnected   ConnErrHandler
	reconnected    ConnHandler
	closed         ConnHandler
}

func defaultOptions() options {
	return options{
		dir:            ipc.DefaultDir,
		gid:            -1,
		newIdle:        func() ipc.IdleStrategy { return &ipc.Backoff{} },
		timeout:        DefaultTimeout,
		publishTimeout: DefaultPublishTimeout,
		drainTimeout:   DefaultDrainTimeout,
		queueTimeout:   DefaultQueueTimeout,
		inCap:          DefaultRingSize,
		outCap:         DefaultRingSize,
		reconnectWait:  DefaultReconnectWait,
		maxReconnects:  -1,
	}
}

func applyOptions(opts []Option) (options, error) {
	o := defaultOptions()
	for _, opt := range opts {
		if opt == nil {
			return o, fmt.Errorf("shmbus: nil option: %w", ErrInvalidOption)
		}
		if err := opt(&o); err != nil {
			return o, err
		}
	}
	return o, nil
}

func invalid(format string, a ...any) error {
	return fmt.Errorf("shmbus: "+format+": %w", append(a, ErrInvalidOption)...)
}

// WithDir sets the bus directory: where the router's socket and segment
// live and where the connection segment is created (default ipc.DefaultDir).
func WithDir(dir string) Option {
	return func(o *options) error {
		if dir == "" {
			return invalid("WithDir: empty directory")
		}
		o.dir = dir
		return nil
	}
}

// WithGroup makes the connection segment readable and writable by group
// gid (file mode 0660), for a router that runs as another user of that
// group (the router's GroupAccess). By default only this user may open it.
func WithGroup(gid int) Option {
	return func(o *options) error {
		if gid < 0 {
			return invalid("WithGroup(%d): negative gid", gid)
		}
		o.gid = gid
		return nil
	}
}

// WithName names the connection for the router's logs and stats.
func WithName(name string) Option {
	return func(o *options) error {
		if len(name) > 255 {
			return invalid("WithName: %d bytes, at most 255", len(name))
		}
		o.name = name
		return nil
	}
}

// WithIdleStrategy chooses what the dispatcher does while the router has
// nothing for it, and how Publish waits for room: "spin", "yield",
// "backoff" (the default: spin, then yield, then park on a futex) or
// "block" (see ipc.NewIdleStrategy). "spin" and "yield" keep a core busy
// for the lowest latency.
func WithIdleStrategy(name string) Option {
	return func(o *options) error {
		if _, err := ipc.NewIdleStrategy(name); err != nil {
			return err
		}
		o.newIdle = func() ipc.IdleStrategy { s, _ := ipc.NewIdleStrategy(name); return s }
		return nil
	}
}

// WithIdleStrategyFunc is WithIdleStrategy with a strategy of your own
// making: newIdle is called once per waiting loop (strategies keep per-loop
// state), so it must return a fresh value each time.
func WithIdleStrategyFunc(newIdle func() ipc.IdleStrategy) Option {
	return func(o *options) error {
		if newIdle == nil || newIdle() == nil {
			return invalid("WithIdleStrategyFunc: nil strategy")
		}
		o.newIdle = newIdle
		return nil
	}
}

// WithTimeout bounds Connect's handshake with the router, and each
// reconnect attempt's (default DefaultTimeout).
func WithTimeout(d time.Duration) Option {
	return func(o *options) error {
		if d <= 0 {
			return invalid("WithTimeout(%v): must be positive", d)
		}
		o.timeout = d
		return nil
	}
}

// WithPublishTimeout sets how long Publish (and Subscribe, Flush, which also
// write to the ring) waits for room in a full ring before failing with
// ErrBusFull (default DefaultPublishTimeout). Zero fails at once.
func WithPublishTimeout(d time.Duration) Option {
	return func(o *options) error {
		if d < 0 {
			return invalid("WithPublishTimeout(%v): negative", d)
		}
		o.publishTimeout = d
		return nil
	}
}

// WithDrainTimeout bounds Drain (default DefaultDrainTimeout).
func WithDrainTimeout(d time.Duration) Option {
	return func(o *options) error {
		if d <= 0 {
			return invalid("WithDrainTimeout(%v): must be positive", d)
		}
		o.drainTimeout = d
		return nil
	}
}

// WithQueueTimeout bounds the queue calls made without a context (see
// DefaultQueueTimeout). An OverflowBlock queue may hold a Send up to its
// BlockTimeout: keep this longer than that.
func WithQueueTimeout(d time.Duration) Option {
	return func(o *options) error {
		if d <= 0 {
			return invalid("WithQueueTimeout(%v): must be positive", d)
		}
		o.queueTimeout = d
		return nil
	}
}

// WithRingSize sets the data capacity in bytes of the in ring (what this
// client publishes) and of the out ring (what the router delivers to it).
// Each is a power of two from ring.MinCapacity; the largest record a ring
// takes is an eighth of it. Default DefaultRingSize each.
func WithRingSize(in, out int) Option {
	return func(o *options) error {
		for _, c := range []int{in, out} {
			if c < ring.MinCapacity || c > ring.MaxCapacity || bits.OnesCount64(uint64(c)) != 1 {
				return invalid("WithRingSize(%d, %d): %d is not a power of two in [%d, %d]", in, out, c, ring.MinCapacity, ring.MaxCapacity)
			}
		}
		o.inCap, o.outCap = in, out
		return nil
	}
}

// WithReconnectWait sets the delay before the first reconnect attempt; it
// doubles after each failed attempt up to MaxReconnectWait (or d, if d is
// larger). Default DefaultReconnectWait.
func WithReconnectWait(d time.Duration) Option {
	return func(o *options) error {
		if d <= 0 {
			return invalid("WithReconnectWait(%v): must be positive", d)
		}
		o.reconnectWait = d
		return nil
	}
}

// WithMaxReconnects sets how many reconnect attempts are made after losing
// the router before the Conn closes itself: -1 (the default) tries forever,
// 0 never reconnects.
func WithMaxReconnects(n int) Option {
	return func(o *options) error {
		if n < -1 {
			return invalid("WithMaxReconnects(%d): want -1 (forever) or more", n)
		}
		o.maxReconnects = n
		return nil
	}
}

// WithErrorHandler sets the handler of asynchronous errors (see ErrHandler).
// Without one they are only counted (Stats).
func WithErrorHandler(h ErrHandler) Option {
	return func(o *options) error { o.errHandler = h; return nil }
}

// WithDisconnectHandler sets the handler called when the router goes away.
func WithDisconnectHandler(h ConnErrHandler) Option {
	return func(o *options) error { o.disconnected = h; return nil }
}

// WithReconnectHandler sets the handler called after a reconnect succeeded.
func WithReconnectHandler(h ConnHandler) Option {
	return func(o *options) error { o.reconnected = h; return nil }
}

// WithClosedHandler sets the handler called once the Conn is closed, by
// Close, Drain or after the last failed reconnect attempt.
func WithClosedHandler(h ConnHandler) Option {
	return func(o *options) error { o.closed = h; return nil }
}

// Policy is what the router does when a subscriber's ring is full.
type Policy uint8

// Slow-consumer policies (their values are the wire's: wire.PolicyDrop,
// wire.PolicyBlock).
const (
	// Drop drops what does not fit, counts it and tells the subscriber
	// (ErrSlowConsumer to the error handler). The publisher never waits.
	Drop Policy = 0
	// Block holds the publisher until there is room, up to the block
	// timeout, then drops as Drop does.
	Block Policy = 1
)

// String returns "drop" or "block".
func (p Policy) String() string {
	switch p {
	case Drop:
		return "drop"
	case Block:
		return "block"
	}
	return fmt.Sprintf("Policy(%d)", uint8(p))
}

// SubOption configures one subscription.
type SubOption func(*subOptions) error

type subOptions struct {
	policy       Policy
	blockTimeout time.Duration
	pendingLimit int
	selector     string // WithFilter, Filter
	prefetch     int    // consumers
}

func applySubOptions(opts []SubOption) (subOptions, error) {
	o := subOptions{policy: Drop, pendingLimit: DefaultPendingLimit}
	for _, opt := range opts {
		if opt == nil {
			return o, fmt.Errorf("shmbus: nil subscription option: %w", ErrInvalidOption)
		}
		if err := opt(&o); err != nil {
			return o, err
		}
	}
	return o, nil
}

// WithPolicy sets the router's slow-consumer policy for the subscription
// (default Drop). Block without WithBlock uses the router's default block
// timeout.
func WithPolicy(p Policy) SubOption {
	return func(o *subOptions) error {
		if p != Drop && p != Block {
			return invalid("WithPolicy(%v): want Drop or Block", p)
		}
		o.policy = p
		return nil
	}
}

// WithBlock sets the Block policy with this block timeout.
func WithBlock(timeout time.Duration) SubOption {
	return func(o *subOptions) error {
		if timeout <= 0 {
			return invalid("WithBlock(%v): must be positive", timeout)
		}
		o.policy, o.blockTimeout = Block, timeout
		return nil
	}
}

// WithPendingLimit sets how many messages a SubscribeSync or
// QueueSubscribeSync subscription buffers before dropping new ones (default
// DefaultPendingLimit). A ChanSubscribe buffers as much as its channel.
func WithPendingLimit(n int) SubOption {
	return func(o *subOptions) error {
		if n <= 0 {
			return invalid("WithPendingLimit(%d): must be positive", n)
		}
		o.pendingLimit = n
		return nil
	}
}

// WithFilter makes the router deliver to the subscription only the
// messages that selector accepts: a condition on the message's headers,
// topic and priority, such as
//
//	region == "eu" && amount > 100
//	$topic like "orders.*.created" && $priority >= 5
//
// (the language: internal/selector's package documentation). Filtered
// messages never cross to this process. A selector that does not compile
// fails the Subscribe with an error wrapping ErrBadFilter and
// ErrInvalidOption that says where.
func WithFilter(selector string) SubOption {
	return func(o *subOptions) error {
		if err := checkSelector("WithFilter", selector); err != nil {
			return err
		}
		o.selector = selector
		return nil
	}
}

// ValidateFilter reports whether selector is a valid filter for
// WithFilter and Filter: nil, or an error wrapping ErrBadFilter that says
// where it goes wrong.
func ValidateFilter(selector string) error {
	if _, err := compileSelector(selector); err != nil {
		return fmt.Errorf("shmbus: filter %q: %w", selector, err)
	}
	return nil
}

// checkSelector compiles a selector to catch mistakes before the router
// does.
func checkSelector(what, src string) error {
	if _, err := compileSelector(src); err != nil {
		return invalid("%s(%q): %w", what, src, err)
	}
	return nil
}

func compileSelector(src string) (*selector.Selector, error) { return selector.Compile(src) }

// ConsumeOption configures a queue consumer (Consume).
type ConsumeOption func(*subOptions) error

// Prefetch sets how many deliveries the consumer may hold unsettled at
// once (default DefaultPrefetch): the router delivers the next message
// only when one of them is settled (Ack, Nak, Term) or times out. 1 gives
// strict one-at-a-time processing.
func Prefetch(n int) ConsumeOption {
	return func(o *subOptions) error {
		if n < 1 || n > wire.MaxPrefetch {
			return invalid("Prefetch(%d): want 1 to %d", n, wire.MaxPrefetch)
		}
		o.prefetch = n
		return nil
	}
}

// Filter makes the consumer take only the messages of the queue that
// selector accepts (the language of WithFilter); the others stay in the
// queue for other consumers. A selector that does not compile fails
// Consume with an error wrapping ErrBadFilter and ErrInvalidOption.
func Filter(selector string) ConsumeOption {
	return func(o *subOptions) error {
		if err := checkSelector("Filter", selector); err != nil {
			return err
		}
		o.selector = selector
		return nil
	}
}
