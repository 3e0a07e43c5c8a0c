package bus

import (
	"encoding/binary"
	"encoding/json"
	"fmt"
	"hash/crc32"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// What a subscriber child collects and reports, and the payload every e2e
// message carries.

// e2eSubReport is what a subscriber reports per subscription.
type e2eSubReport struct {
	Topics map[string]int `json:"topics"`
	Count  int            `json:"count"`
}

// e2eResult is a subscriber's "result" line.
type e2eResult struct {
	Subs    []e2eSubReport `json:"subs"`
	Corrupt int            `json:"corrupt"` // payloads that failed their checksum
	BadID   int            `json:"bad_id"`  // Msg.ID sequence differs from the payload's
	Stats   Stats          `json:"stats"`
	Dropped []uint64       `json:"dropped"` // per subscription, as Subscription.Dropped
	Errors  []string       `json:"errors,omitempty"`
}

// e2eRec is one message a subscriber got, as it writes them to Out.
type e2eRec struct {
	Sub, Pub uint32
	Seq      uint64
}

const e2eRecSize = 16

// e2eSink collects what a subscriber child gets.
type e2eSink struct {
	c       *e2eChild
	mu      sync.Mutex
	recs    []e2eRec
	res     e2eResult
	total   int
	errs    atomic.Int64
	errMu   sync.Mutex
	errText []string
}

func (s *e2eSink) handler(i int, spec e2eSubSpec) MsgHandler {
	return func(m *Msg) {
		pub, seq, ok := e2eParse(m.Data)
		s.mu.Lock()
		if !ok {
			s.res.Corrupt++
		} else {
			if pub != 0 && m.ID&seqMask != seq { // pub 0: requests made by the test, numbered as it likes
				s.res.BadID++
			}
			s.recs = append(s.recs, e2eRec{Sub: uint32(i), Pub: uint32(pub), Seq: seq})
		}
		sr := &s.res.Subs[i]
		sr.Topics[m.Topic]++
		sr.Count++
		s.total++
		n := s.total
		s.mu.Unlock()
		if every := e2eOr(s.c.ProgressEvery, 256); n%every == 0 {
			s.c.say("progress %d", n)
		}
		if spec.Respond && m.Reply != "" {
			if err := m.Respond(m.Data); err != nil {
				s.onErr(nil, nil, fmt.Errorf("respond: %w", err))
			}
		}
		if spec.Delay > 0 && n%e2eOr(spec.DelayEvery, 1) == 0 {
			time.Sleep(spec.Delay)
		}
	}
}

func (s *e2eSink) onErr(_ *Conn, _ *Subscription, err error) {
	if s.errs.Add(1) <= 10 {
		s.errMu.Lock()
		s.errText = append(s.errText, err.Error())
		s.errMu.Unlock()
		s.c.say("asyncerr %v", err)
	}
}

// finish flushes, then writes the records and the result line. With want
// ("finish N") it first waits, up to its deadline, until the messages got
// plus those the router reported dropped add up to N: drop reports travel
// on their own, after the messages around them.
func (s *e2eSink) finish(conn *Conn, subs []*Subscription, want string) error {
	if err := s.c.flush(conn); err != nil {
		return err
	}
	if n, err := strconv.Atoi(strings.TrimSpace(want)); err == nil {
		for !s.c.late() {
			s.mu.Lock()
			got := s.total
			s.mu.Unlock()
			for _, sub := range subs {
				got += int(sub.Dropped())
			}
			if got >= n {
				break
			}
			time.Sleep(time.Millisecond)
		}
	}
	// A drop report reaches the error handler on the callback goroutine,
	// after the counters: wait for it to have run.
	if st := conn.Stats(); st.Dropped > 0 {
		for s.errs.Load() == 0 && !s.c.late() {
			time.Sleep(time.Millisecond)
		}
	}
	s.mu.Lock()
	out := make([]byte, 0, e2eRecSize*len(s.recs))
	for _, r := range s.recs {
		out = binary.LittleEndian.AppendUint32(out, r.Sub)
		out = binary.LittleEndian.AppendUint32(out, r.Pub)
		out = binary.LittleEndian.AppendUint64(out, r.Seq)
	}
	res := s.res
	res.Stats = conn.Stats()
	for _, sub := range subs {
		res.Dropped = append(res.Dropped, sub.Dropped())
	}
	s.errMu.Lock()
	res.Errors = s.errText
	s.errMu.Unlock()
	js, err := json.Marshal(res) // under mu: handlers may still run
	s.mu.Unlock()
	if err != nil {
		return err
	}
	if s.c.Out != "" {
		if err := os.WriteFile(s.c.Out, out, 0o600); err != nil {
			return err
		}
	}
	s.c.say("result %s", js)
	return nil
}

// The payload of every e2e message:
//
//	0      8      12        16     20
//	+------+------+---------+------+----------------------------+
//	| seq  | pub  | filler  | crc  | filler bytes (seq-derived)  |
//	| u64  | u32  | len u32 | u32  |                             |
//	+------+------+---------+------+----------------------------+
//
// crc is CRC-32 (IEEE) of bytes 0..16 and the filler: a message torn or
// mixed with another one fails it.
const e2eHeaderLen = 20

// e2ePayload encodes publisher pub's message seq into buf, with a filler
// of between 0 and maxFiller bytes chosen by seq.
func e2ePayload(buf []byte, pub int, seq uint64, maxFiller int) []byte {
	filler := int(seq * 37 % uint64(maxFiller+1))
	b := buf[:e2eHeaderLen+filler]
	binary.LittleEndian.PutUint64(b[0:], seq)
	binary.LittleEndian.PutUint32(b[8:], uint32(pub))
	binary.LittleEndian.PutUint32(b[12:], uint32(filler))
	for i := range filler {
		b[e2eHeaderLen+i] = byte(seq*7 + uint64(i)*13)
	}
	crc := crc32.Update(crc32.ChecksumIEEE(b[:16]), crc32.IEEETable, b[e2eHeaderLen:])
	binary.LittleEndian.PutUint32(b[16:], crc)
	return b
}

// e2eParse checks and decodes a payload made by e2ePayload.
func e2eParse(b []byte) (pub int, seq uint64, ok bool) {
	if len(b) < e2eHeaderLen || int(binary.LittleEndian.Uint32(b[12:])) != len(b)-e2eHeaderLen {
		return 0, 0, false
	}
	crc := crc32.Update(crc32.ChecksumIEEE(b[:16]), crc32.IEEETable, b[e2eHeaderLen:])
	if crc != binary.LittleEndian.Uint32(b[16:]) {
		return 0, 0, false
	}
	return int(binary.LittleEndian.Uint32(b[8:])), binary.LittleEndian.Uint64(b[0:]), true
}
