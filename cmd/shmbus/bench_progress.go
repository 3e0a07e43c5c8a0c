package main

import (
	"fmt"
	"io"
	"os"
	"sync"
	"time"

	"golang.org/x/sys/unix"

	"github.com/shmbus/shmbus/bench"
)

// progress is shmbus bench's progress line on a terminal: which benchmark
// runs, how far the suite is, and for how long, rewritten in place a few
// times a second. A failure gets a line of its own that stays.
type progress struct {
	w    io.Writer
	now  func() time.Time
	stop chan struct{}
	done chan struct{}

	mu       sync.Mutex // guards what follows
	i, total int
	name     string
	suite    time.Time // the run's start
	began    time.Time // the current benchmark's start
}

// progressEvery is how often the line is redrawn.
const progressEvery = 250 * time.Millisecond

// isTerminal reports whether f is a terminal.
func isTerminal(f *os.File) bool {
	_, err := unix.IoctlGetTermios(int(f.Fd()), unix.TCGETS)
	return err == nil
}

// newProgress starts redrawing the line on w; close stops it.
func newProgress(w io.Writer, now func() time.Time) *progress {
	p := &progress{w: w, now: now, stop: make(chan struct{}), done: make(chan struct{}), suite: now()}
	go func() {
		defer close(p.done)
		t := time.NewTicker(progressEvery)
		defer t.Stop()
		for {
			select {
			case <-p.stop:
				return
			case <-t.C:
				p.mu.Lock()
				p.drawLocked()
				p.mu.Unlock()
			}
		}
	}()
	return p
}

// starting is bench.Options.OnStart.
func (p *progress) starting(i, total int, name string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.i, p.total, p.name, p.began = i, total, name, p.now()
	p.drawLocked()
}

// finished is bench.Options.Progress.
func (p *progress) finished(r *bench.Result) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if r.Err != "" {
		fmt.Fprintf(p.w, "\r\x1b[KFAILED %s: %s\n", r.Name, r.Err)
	}
	p.drawLocked()
}

// close stops the redrawing and clears the line.
func (p *progress) close() {
	close(p.stop)
	<-p.done
	fmt.Fprint(p.w, "\r\x1b[K")
}

// drawLocked rewrites the line. p.mu must be held.
func (p *progress) drawLocked() {
	if p.name == "" {
		return
	}
	t := p.now()
	fmt.Fprintf(p.w, "\r\x1b[K[%d/%d] %s %.1fs (suite %.0fs)", p.i+1, p.total, p.name,
		t.Sub(p.began).Seconds(), t.Sub(p.suite).Seconds())
}
