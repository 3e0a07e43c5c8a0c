package metrics

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// NewHandler returns the HTTP endpoints of e, on a mux of their own:
//
//	/metrics        e's metrics, with the Go runtime's (go_*) and this process's (process_*)
//	/healthz        200 "ok ..." while the router is alive, 503 and the reason otherwise
//	/debug/pprof/   the profiler of this process (net/http/pprof)
//
// The registry is the handler's own, so e may be registered elsewhere too.
func NewHandler(e *Exporter) (http.Handler, error) {
	reg := prometheus.NewRegistry()
	for _, c := range []prometheus.Collector{e, collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{})} {
		if err := reg.Register(c); err != nil {
			return nil, fmt.Errorf("metrics registry: %w", err)
		}
	}
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{
		ErrorLog:      slog.NewLogLogger(e.log.Handler(), slog.LevelWarn),
		ErrorHandling: promhttp.ContinueOnError, // serve what could be gathered
	}))
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) { serveHealth(w, e) })
	mux.HandleFunc("/debug/pprof/", pprof.Index) // and the named profiles: heap, goroutine, ...
	mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		fmt.Fprintf(w, "shmbus router exporter for %s\n\n/metrics\n/healthz\n/debug/pprof/\n", e.Dir())
	})
	return mux, nil
}

// serveHealth answers /healthz: 200 while the router is alive, 503 with
// the reason when it is not.
func serveHealth(w http.ResponseWriter, e *Exporter) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	s, age, err := e.Snapshot()
	if err == nil {
		err = e.check(s, age)
	}
	if err != nil {
		w.WriteHeader(http.StatusServiceUnavailable)
		fmt.Fprintf(w, "unhealthy: %v\n", err)
		return
	}
	fmt.Fprintf(w, "ok: router pid %d, %d clients, snapshot %.3fs old\n", s.RouterPID, len(s.Clients), age.Seconds())
}

// Server is the exporter's HTTP server.
type Server struct {
	srv  *http.Server
	ln   net.Listener
	done chan struct{} // closed when Serve has returned
}

// Serve listens on addr (host:port; port 0 picks one, see Addr) and serves
// NewHandler(e) until Shutdown.
func Serve(addr string, e *Exporter) (*Server, error) {
	h, err := NewHandler(e)
	if err != nil {
		return nil, err
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("metrics listener: %w", err)
	}
	s := &Server{
		srv: &http.Server{
			Handler:           h,
			ReadHeaderTimeout: 10 * time.Second,
			ErrorLog:          slog.NewLogLogger(e.log.Handler(), slog.LevelDebug), // clients' errors (TLS, bad requests)
		},
		ln:   ln,
		done: make(chan struct{}),
	}
	go func() {
		defer close(s.done)
		if err := s.srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			e.log.Error("metrics server stopped", "addr", ln.Addr().String(), "err", err)
		}
	}()
	e.log.Info("metrics server listening", "addr", ln.Addr().String(), "dir", e.Dir())
	return s, nil
}

// Addr is the address the server listens on.
func (s *Server) Addr() net.Addr { return s.ln.Addr() }

// URL is the server's base URL, http://host:port.
func (s *Server) URL() string { return "http://" + s.ln.Addr().String() }

// Shutdown stops listening, waits for the requests in flight until ctx
// ends (then closes their connections) and for the server to stop.
func (s *Server) Shutdown(ctx context.Context) error {
	err := s.srv.Shutdown(ctx)
	if err != nil {
		err = errors.Join(fmt.Errorf("metrics server shutdown: %w", err), s.srv.Close())
	}
	<-s.done
	return err
}
