package persist

import (
	"fmt"
	"log/slog"
	"time"
)

// Durability says when a record counts as confirmed, and so what a crash
// can lose. Whatever the policy, Append never waits for the disk.
type Durability uint8

const (
	// DurabilityBatch (the default) writes each batch as the writer takes
	// it and fsyncs every BatchInterval or BatchBytes, whichever comes
	// first; confirmations fire after that fsync. A process crash loses only
	// records still in memory (at most MaxPending bytes, appended within
	// the last moments); an OS crash or power loss also loses records
	// written since the last fsync: at most BatchInterval's worth or
	// BatchBytes, whichever is less, plus what was in memory.
	DurabilityBatch Durability = iota
	// DurabilitySync fsyncs every batch before its confirmations fire
	// (group commit: all the records that arrived during one fsync share
	// the next one). A confirmed record survives any crash; unconfirmed
	// ones may or may not.
	DurabilitySync
	// DurabilityNone writes records to the files (the OS page cache) but
	// never fsyncs them, except on Sync and Close; confirmations fire once
	// the writer has written them. A process crash loses only records still
	// in memory (as for Batch); an OS crash or power loss can lose any
	// records not explicitly synced. It is not "no journal": a router that
	// wants no journal at all simply opens no Log.
	DurabilityNone
)

func (d Durability) String() string {
	switch d {
	case DurabilityBatch:
		return "batch"
	case DurabilitySync:
		return "sync"
	case DurabilityNone:
		return "none"
	}
	return fmt.Sprintf("Durability(%d)", uint8(d))
}

// ParseDurability reads "none", "batch" or "sync".
func ParseDurability(s string) (Durability, error) {
	for _, d := range []Durability{DurabilityNone, DurabilityBatch, DurabilitySync} {
		if d.String() == s {
			return d, nil
		}
	}
	return 0, fmt.Errorf("%w: durability %q (want none, batch or sync)", ErrInvalidOption, s)
}

// Defaults of the options.
const (
	DefaultSegmentSize   = 16 << 20
	DefaultMaxRecordSize = 4 << 20
	DefaultMaxPending    = 8 << 20
	DefaultBatchInterval = 10 * time.Millisecond
	DefaultBatchBytes    = 1 << 20
	DefaultIndexInterval = 64 << 10
	DefaultCompactRatio  = 0.5
	// DefaultCodec compresses sealed segments. s2 was picked by measurement
	// (BenchmarkCompression: on journal-shaped data it compresses about as
	// well as zstd's fastest level at several times the speed; see the
	// Journal section of docs/formats.md).
	DefaultCodec   = CodecS2
	minSegmentSize = 4 << 10
)

// Retention bounds a log at segment granularity: the oldest sealed segment
// is deleted while the log exceeds a bound (MaxAge: while every record of
// the oldest segment is older than MaxAge). The active segment is never
// deleted, so a log can stay above a bound by up to one segment. Zero
// fields mean no bound.
type Retention struct {
	MaxBytes    int64         // total file bytes
	MaxAge      time.Duration // a segment goes once all its records are older
	MaxMessages int64         // records (sequence span) kept
}

func (r Retention) enabled() bool { return r.MaxBytes > 0 || r.MaxAge > 0 || r.MaxMessages > 0 }

// Option configures Open, OpenQueue and OpenTopic. A bad value makes them
// fail with an error wrapping ErrInvalidOption.
type Option func(*options) error

type options struct {
	durability    Durability
	batchInterval time.Duration
	batchBytes    int64
	segmentSize   int64
	maxRecord     int
	maxRecordSet  bool
	maxPending    int
	indexInterval int64
	codec         Codec
	skipCorrupt   bool
	logger        *slog.Logger
	retention     Retention
	compactRatio  float64
}

func defaultOptions() options {
	return options{
		durability:    DurabilityBatch,
		batchInterval: DefaultBatchInterval,
		batchBytes:    DefaultBatchBytes,
		segmentSize:   DefaultSegmentSize,
		maxRecord:     DefaultMaxRecordSize,
		maxPending:    DefaultMaxPending,
		indexInterval: DefaultIndexInterval,
		codec:         DefaultCodec,
		logger:        slog.Default(),
		compactRatio:  DefaultCompactRatio,
	}
}

func buildOptions(opts []Option) (options, error) {
	o := defaultOptions()
	for _, opt := range opts {
		if opt == nil {
			continue
		}
		if err := opt(&o); err != nil {
			return o, err
		}
	}
	if fit := int(o.segmentSize - recordHeaderSize - segmentHeaderSize); !o.maxRecordSet && o.maxRecord > fit {
		o.maxRecord = fit // the default shrinks to fit a small segment
	}
	if int64(o.maxRecord)+recordHeaderSize+segmentHeaderSize > o.segmentSize {
		return o, fmt.Errorf("%w: max record size %d does not fit a segment of %d bytes", ErrInvalidOption, o.maxRecord, o.segmentSize)
	}
	if o.maxPending < o.maxRecord+recordHeaderSize {
		o.maxPending = o.maxRecord + recordHeaderSize
	}
	return o, nil
}

func invalid(format string, a ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{ErrInvalidOption}, a...)...)
}

// WithDurability sets the durability policy (default DurabilityBatch).
func WithDurability(d Durability) Option {
	return func(o *options) error {
		if d > DurabilityNone {
			return invalid("durability %d", d)
		}
		o.durability = d
		return nil
	}
}

// WithBatch sets how often DurabilityBatch fsyncs: after interval, or once
// bytes have been written since the last fsync (defaults 10 ms, 1 MiB).
func WithBatch(interval time.Duration, bytes int64) Option {
	return func(o *options) error {
		if interval <= 0 || bytes <= 0 {
			return invalid("batch interval %v and bytes %d must be positive", interval, bytes)
		}
		o.batchInterval, o.batchBytes = interval, bytes
		return nil
	}
}

// WithSegmentSize sets the size at which the active segment is sealed and a
// new one started (default 16 MiB, at least 4 KiB).
func WithSegmentSize(n int64) Option {
	return func(o *options) error {
		if n < minSegmentSize || n > MaxRecordLimit {
			return invalid("segment size %d (want %d..%d)", n, minSegmentSize, MaxRecordLimit)
		}
		o.segmentSize = n
		return nil
	}
}

// WithMaxRecordSize sets the largest payload Append takes (default 4 MiB);
// it must fit in a segment.
func WithMaxRecordSize(n int) Option {
	return func(o *options) error {
		if n <= 0 || n > MaxRecordLimit {
			return invalid("max record size %d", n)
		}
		o.maxRecord, o.maxRecordSet = n, true
		return nil
	}
}

// WithMaxPending bounds the bytes appended but not yet taken by the writer
// (default 8 MiB); Append blocks beyond it. It is also the most a process
// crash can lose.
func WithMaxPending(n int) Option {
	return func(o *options) error {
		if n <= 0 {
			return invalid("max pending %d", n)
		}
		o.maxPending = n
		return nil
	}
}

// WithIndexInterval sets the spacing in bytes of the sparse in-memory index
// (sequence, time, offset) used to start readers (default 64 KiB).
func WithIndexInterval(n int64) Option {
	return func(o *options) error {
		if n <= 0 {
			return invalid("index interval %d", n)
		}
		o.indexInterval = n
		return nil
	}
}

// WithCompression sets the codec for sealed segments (default DefaultCodec;
// CodecNone keeps them as written). Reads are transparent either way.
func WithCompression(c Codec) Option {
	return func(o *options) error {
		if c > CodecS2 {
			return invalid("codec %d", c)
		}
		o.codec = c
		return nil
	}
}

// WithSkipCorruption makes Open and readers skip corrupt records instead of
// failing: exactly the bad bytes are skipped, and each is reported (logged,
// and listed by Log.Corruptions).
func WithSkipCorruption(skip bool) Option {
	return func(o *options) error {
		o.skipCorrupt = skip
		return nil
	}
}

// WithLogger sets the logger for recovery and maintenance events (default
// slog.Default()).
func WithLogger(l *slog.Logger) Option {
	return func(o *options) error {
		if l == nil {
			return invalid("nil logger")
		}
		o.logger = l
		return nil
	}
}

// WithRetention bounds the log (for topic journals; a queue journal ignores
// it, since only acknowledgements may drop its messages).
func WithRetention(r Retention) Option {
	return func(o *options) error {
		if r.MaxBytes < 0 || r.MaxAge < 0 || r.MaxMessages < 0 {
			return invalid("negative retention %+v", r)
		}
		o.retention = r
		return nil
	}
}

// WithCompactRatio sets the settled fraction at which queue compaction
// rewrites a sealed segment (default 0.5; in (0, 1]).
func WithCompactRatio(f float64) Option {
	return func(o *options) error {
		if !(f > 0 && f <= 1) {
			return invalid("compact ratio %v", f)
		}
		o.compactRatio = f
		return nil
	}
}
