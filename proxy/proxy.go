// Package proxy is a contract-checking reverse proxy: put it between any
// client and any implementation of the API (Spotzee itself, the reference
// server, a fake) and it validates every request and response against the
// contract (or the reference profile) while forwarding the traffic
// unchanged. Each violation is logged as it happens; Report returns the
// session's violations, the operation × status pairs exchanged and the
// contract coverage, and writes them as JSON or JUnit XML for CI.
//
// The proxy never logs or reports header values or bodies: violation
// reasons come from the validate package, which leaves values out.
package proxy

import (
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httputil"
	"net/url"
	"sync"
	"time"

	"github.com/spotzeekit/spotzee-keys/coverage"
	"github.com/spotzeekit/spotzee-keys/validate"
)

// DefaultMaxBodyBytes is the largest request or response body the proxy
// buffers to validate (10 MiB). A larger body is forwarded unchanged and
// unvalidated, with a warning.
const DefaultMaxBodyBytes = 10 << 20

// Config configures a Proxy.
type Config struct {
	// Upstream is the API's root URL (scheme and host; a path is prepended
	// to every request path). Required.
	Upstream *url.URL
	// Validator checks the traffic (default: validate.Default(), the
	// faithful contract).
	Validator *validate.Validator
	// Profile names the contract in reports (default "faithful").
	Profile string
	// Coverage receives every operation × status forwarded (default: a new
	// coverage.Recorder over Validator's document).
	Coverage *coverage.Recorder
	// Transport sends requests upstream (default: a clone of
	// http.DefaultTransport with DisableCompression, so no Accept-Encoding
	// the client did not send is added).
	Transport http.RoundTripper
	// Logger receives a line per violation (default slog.Default()).
	Logger *slog.Logger
	// MaxBodyBytes caps the bodies buffered for validation (default
	// DefaultMaxBodyBytes).
	MaxBodyBytes int64
	// Now is the clock for violation times (default time.Now).
	Now func() time.Time
}

// Proxy is a validating reverse proxy; it is an http.Handler safe for
// concurrent use.
type Proxy struct {
	cfg      Config
	upstream string
	rp       *httputil.ReverseProxy

	mu         sync.Mutex
	started    time.Time
	requests   int
	violations []Violation
	pairs      map[pairKey]*pair
}

type pairKey struct {
	op     string
	status int
}

type pair struct {
	count      int
	violations []int // indexes into Proxy.violations
}

// Violation is one request or response that broke the contract. It holds
// no header values and no body.
type Violation struct {
	Time time.Time `json:"time"`
	// Kind is "request" or "response".
	Kind   string `json:"kind"`
	Method string `json:"method"`
	// Path is the request path, without the query string.
	Path string `json:"path"`
	// OperationID is empty when the request matched no operation.
	OperationID string `json:"operation_id,omitempty"`
	// Status is the upstream's status (502 when it could not be reached).
	Status int    `json:"status"`
	Reason string `json:"reason"`
}

// New returns a Proxy to cfg.Upstream. It returns an error when Upstream is
// missing or not an absolute http(s) URL, or when the default validator
// does not load.
func New(cfg Config) (*Proxy, error) {
	if cfg.Upstream == nil || (cfg.Upstream.Scheme != "http" && cfg.Upstream.Scheme != "https") || cfg.Upstream.Host == "" {
		return nil, errors.New("proxy: the upstream must be an absolute http or https URL")
	}
	if cfg.Validator == nil {
		v, err := validate.Default()
		if err != nil {
			return nil, fmt.Errorf("proxy: %w", err)
		}
		cfg.Validator = v
	}
	if cfg.Profile == "" {
		cfg.Profile = "faithful"
	}
	if cfg.Coverage == nil {
		cfg.Coverage = coverage.New(cfg.Validator.Doc())
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.MaxBodyBytes <= 0 {
		cfg.MaxBodyBytes = DefaultMaxBodyBytes
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Transport == nil {
		t := http.DefaultTransport.(*http.Transport).Clone()
		t.DisableCompression = true
		cfg.Transport = t
	}
	p := &Proxy{cfg: cfg, upstream: cfg.Upstream.Redacted(), pairs: map[pairKey]*pair{}, started: cfg.Now()}
	target := cfg.Upstream
	p.rp = &httputil.ReverseProxy{
		Rewrite: func(pr *httputil.ProxyRequest) {
			pr.SetURL(target)
			// Rewrite strips the client's Forwarded and X-Forwarded-*
			// headers: put them back, and add none.
			for _, h := range []string{"Forwarded", "X-Forwarded-For", "X-Forwarded-Host", "X-Forwarded-Proto"} {
				if vals, ok := pr.In.Header[h]; ok {
					pr.Out.Header[h] = vals
				}
			}
		},
		Transport:      cfg.Transport,
		ModifyResponse: p.checkResponse,
		ErrorHandler:   p.upstreamError,
		ErrorLog:       slog.NewLogLogger(cfg.Logger.Handler(), slog.LevelWarn),
	}
	return p, nil
}

// state travels with a request through the ReverseProxy.
type state struct {
	method, path string
	opID         string
	ex           *validate.Exchange
	reqErr       error
}

type stateKey struct{}

// ServeHTTP validates the request, forwards it with its original bytes,
// validates the response and passes it on unchanged.
func (p *Proxy) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	st := &state{method: r.Method, path: r.URL.Path}
	body, whole, err := readCapped(r.Body, p.cfg.MaxBodyBytes)
	if err != nil {
		p.cfg.Logger.WarnContext(ctx, "proxy: reading the request body failed", slog.String("method", r.Method),
			slog.String("path", r.URL.Path), slog.String("error", err.Error()))
		http.Error(w, "bad request body", http.StatusBadRequest)
		return
	}
	if ex, err := p.cfg.Validator.Match(r); err == nil {
		st.ex, st.opID = ex, ex.OperationID()
	}
	if whole {
		check := r.Clone(ctx)
		setBody(check, body)
		if _, err := p.cfg.Validator.CheckRequest(ctx, check); err != nil {
			st.reqErr = err
		}
		setBody(r, body)
	} else {
		p.cfg.Logger.WarnContext(ctx, "proxy: request body too large to validate; forwarded unvalidated",
			slog.String("method", r.Method), slog.String("path", r.URL.Path), slog.Int64("max_bytes", p.cfg.MaxBodyBytes))
		r.Body = struct {
			io.Reader
			io.Closer
		}{io.MultiReader(bytes.NewReader(body), r.Body), r.Body}
	}
	p.mu.Lock()
	p.requests++
	p.mu.Unlock()
	p.rp.ServeHTTP(w, r.WithContext(context.WithValue(ctx, stateKey{}, st)))
}

// setBody gives r a fresh reader over body (nil: no body).
func setBody(r *http.Request, body []byte) {
	if body == nil {
		r.Body, r.GetBody = http.NoBody, nil
		return
	}
	r.GetBody = func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(body)), nil }
	r.Body, _ = r.GetBody()
}

// readCapped reads up to max bytes of rc. whole reports whether that was
// everything; when it is not, rc is left open for the rest.
func readCapped(rc io.ReadCloser, max int64) (data []byte, whole bool, err error) {
	if rc == nil || rc == http.NoBody {
		return nil, true, nil
	}
	data, err = io.ReadAll(io.LimitReader(rc, max+1))
	if err != nil {
		return nil, false, fmt.Errorf("read body: %w", err)
	}
	if int64(len(data)) > max {
		return data, false, nil
	}
	_ = rc.Close()
	return data, true, nil
}

// checkResponse is the ReverseProxy's ModifyResponse: it buffers the body,
// validates a copy and puts the original bytes back.
func (p *Proxy) checkResponse(resp *http.Response) error {
	ctx := resp.Request.Context()
	st, _ := ctx.Value(stateKey{}).(*state)
	if st == nil {
		return nil
	}
	body, whole, err := readCapped(resp.Body, p.cfg.MaxBodyBytes)
	if err != nil {
		return fmt.Errorf("proxy: response from upstream: %w", err)
	}
	if !whole {
		resp.Body = struct {
			io.Reader
			io.Closer
		}{io.MultiReader(bytes.NewReader(body), resp.Body), resp.Body}
	} else {
		resp.Body = io.NopCloser(bytes.NewReader(body))
	}
	var respErr error
	switch {
	case st.ex == nil:
	case !whole:
		p.cfg.Logger.WarnContext(ctx, "proxy: response body too large to validate; forwarded unvalidated",
			slog.String("method", st.method), slog.String("path", st.path), slog.String("operation", st.opID))
	default:
		check := body
		if resp.Header.Get("Content-Encoding") == "gzip" {
			if check, err = gunzip(body); err != nil {
				respErr = fmt.Errorf("gzip body does not decompress: %w", err)
			}
		}
		if respErr == nil {
			respErr = p.cfg.Validator.CheckResponse(ctx, st.ex, resp.StatusCode, withoutEncoding(resp.Header), check)
		}
	}
	p.exchanged(ctx, st, resp.StatusCode, respErr)
	return nil
}

// withoutEncoding returns h without Content-Encoding (the body validated is
// decompressed), sharing nothing with h.
func withoutEncoding(h http.Header) http.Header {
	if h.Get("Content-Encoding") == "" {
		return h
	}
	c := h.Clone()
	c.Del("Content-Encoding")
	return c
}

func gunzip(b []byte) ([]byte, error) {
	zr, err := gzip.NewReader(bytes.NewReader(b))
	if err != nil {
		return nil, err
	}
	defer zr.Close()
	return io.ReadAll(zr)
}

// upstreamError answers 502 when the upstream cannot be reached, and counts
// the request (with its request violation, if any).
func (p *Proxy) upstreamError(w http.ResponseWriter, r *http.Request, err error) {
	ctx := r.Context()
	p.cfg.Logger.WarnContext(ctx, "proxy: upstream failed", slog.String("method", r.Method),
		slog.String("path", r.URL.Path), slog.String("error", err.Error()))
	if st, _ := ctx.Value(stateKey{}).(*state); st != nil {
		p.exchanged(ctx, st, http.StatusBadGateway, nil)
	}
	w.WriteHeader(http.StatusBadGateway)
}

// exchanged records one forwarded exchange and its violations.
func (p *Proxy) exchanged(ctx context.Context, st *state, status int, respErr error) {
	if st.opID != "" {
		p.cfg.Coverage.Record(st.opID, status)
	}
	var found []Violation
	now := p.cfg.Now()
	if st.reqErr != nil {
		found = append(found, Violation{Time: now, Kind: "request", Method: st.method, Path: st.path,
			OperationID: st.opID, Status: status, Reason: st.reqErr.Error()})
	}
	if respErr != nil {
		reason := respErr.Error()
		var rv *validate.ResponseViolation
		if errors.As(respErr, &rv) {
			reason = rv.Err.Error()
		}
		found = append(found, Violation{Time: now, Kind: "response", Method: st.method, Path: st.path,
			OperationID: st.opID, Status: status, Reason: reason})
	}
	k := pairKey{st.opID, status}
	if st.opID == "" {
		k.op = st.method + " " + st.path
	}
	p.mu.Lock()
	pr := p.pairs[k]
	if pr == nil {
		pr = &pair{}
		p.pairs[k] = pr
	}
	pr.count++
	for _, v := range found {
		pr.violations = append(pr.violations, len(p.violations))
		p.violations = append(p.violations, v)
	}
	p.mu.Unlock()
	for _, v := range found {
		p.cfg.Logger.ErrorContext(ctx, "contract violation",
			slog.String("kind", v.Kind), slog.String("method", v.Method), slog.String("path", v.Path),
			slog.String("operation", v.OperationID), slog.Int("status", v.Status), slog.String("reason", v.Reason))
	}
}

// Violations returns how many violations have been seen so far.
func (p *Proxy) Violations() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.violations)
}

// Coverage returns the coverage recorder the proxy feeds.
func (p *Proxy) Coverage() *coverage.Recorder { return p.cfg.Coverage }
