// Package faults injects failures into an HTTP handler of the API, per
// operation, so tests can see how a client copes: a documented error status
// with its catalogue code and Retry-After, added latency, a dropped
// connection, or a response lost after the handler committed its work (the
// case idempotency keys exist for).
//
// An Injector is http middleware; spotzeetest installs one in front of the
// reference server (srv.Faults()), and `spotzee-keys serve --fault-endpoint`
// exposes one through POST /_spotzee/faults. Requests are told apart by the
// operation they match in the contract (validate.Validator.Match).
//
//	srv.Faults().Next("createProjectApiKey", 1, faults.Error(spotzee.CodeRateLimited, time.Second))
package faults

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"math/rand/v2"
	"net/http"
	"strconv"
	"sync"
	"time"

	spotzee "github.com/spotzeekit/spotzee-keys"
	"github.com/spotzeekit/spotzee-keys/internal/ulid"
	"github.com/spotzeekit/spotzee-keys/problem"
	"github.com/spotzeekit/spotzee-keys/validate"
)

// Kind is what a Fault does.
type Kind string

// The kinds of fault.
const (
	// KindError answers a problem+json error with a catalogue code (and
	// Retry-After when set) without calling the handler.
	KindError Kind = "error"
	// KindDelay waits, then calls the handler.
	KindDelay Kind = "delay"
	// KindDrop closes the connection without an answer and without calling
	// the handler.
	KindDrop Kind = "drop"
	// KindLoseResponse calls the handler (its work is committed), then
	// closes the connection instead of sending its response.
	KindLoseResponse Kind = "lose_response"
)

// Duration is a time.Duration that reads and writes JSON as a Go duration
// string ("1s", "250ms").
type Duration time.Duration

// MarshalJSON implements json.Marshaler; it never fails.
func (d Duration) MarshalJSON() ([]byte, error) { return json.Marshal(time.Duration(d).String()) }

// UnmarshalJSON implements json.Unmarshaler; it returns an error for
// anything but a duration string or a number of nanoseconds.
func (d *Duration) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		var n int64
		if err2 := json.Unmarshal(b, &n); err2 != nil {
			return fmt.Errorf("faults: a duration is a string such as \"1s\": %w", err)
		}
		*d = Duration(n)
		return nil
	}
	v, err := time.ParseDuration(s)
	if err != nil {
		return fmt.Errorf("faults: %w", err)
	}
	*d = Duration(v)
	return nil
}

// Fault is one failure to inject.
type Fault struct {
	Kind Kind `json:"kind"`
	// Code is the catalogue code of a KindError fault; its status is the
	// catalogue's (429 rate_limited, 503 service_unavailable, 409
	// idempotency_in_progress...).
	Code spotzee.Code `json:"code,omitempty"`
	// RetryAfter, when positive, is sent as Retry-After (whole seconds,
	// rounded up) with a KindError fault.
	RetryAfter Duration `json:"retry_after,omitempty"`
	// Delay is the latency a KindDelay fault adds.
	Delay Duration `json:"delay,omitempty"`
}

// Error returns a fault answering code's catalogue status and problem+json
// body, with Retry-After when retryAfter is positive.
func Error(code spotzee.Code, retryAfter time.Duration) Fault {
	return Fault{Kind: KindError, Code: code, RetryAfter: Duration(retryAfter)}
}

// Delay returns a fault that waits d before the handler runs.
func Delay(d time.Duration) Fault { return Fault{Kind: KindDelay, Delay: Duration(d)} }

// Drop returns a fault that closes the connection without an answer; the
// handler does not run.
func Drop() Fault { return Fault{Kind: KindDrop} }

// LoseResponse returns a fault that runs the handler, then closes the
// connection instead of sending the response.
func LoseResponse() Fault { return Fault{Kind: KindLoseResponse} }

// validate returns an error when f cannot be injected.
func (f Fault) validate() error {
	switch f.Kind {
	case KindError:
		if !f.Code.Known() {
			return fmt.Errorf("faults: unknown catalogue code %q", f.Code)
		}
		if f.RetryAfter < 0 {
			return errors.New("faults: retry_after must not be negative")
		}
	case KindDelay:
		if f.Delay <= 0 {
			return errors.New("faults: a delay fault needs a positive delay")
		}
	case KindDrop, KindLoseResponse:
	default:
		return fmt.Errorf("faults: unknown fault kind %q", f.Kind)
	}
	return nil
}

// AnyOperation in Rule.Operation matches every operation.
const AnyOperation = "*"

// Rule scripts a fault for an operation: on its next Times calls, or on
// each call with Probability (drawn from a generator seeded with Seed, so
// a run is reproducible).
type Rule struct {
	// Operation is an operationId of the spec, or AnyOperation.
	Operation string `json:"operation"`
	// Times is the number of next calls that fail (when Probability is 0).
	Times int `json:"times,omitempty"`
	// Probability, between 0 and 1, makes every call fail with that
	// probability, for as long as the rule stays.
	Probability float64 `json:"probability,omitempty"`
	// Seed seeds the draws of a Probability rule.
	Seed  uint64 `json:"seed,omitempty"`
	Fault Fault  `json:"fault"`
}

type rule struct {
	Rule
	rng *rand.Rand
}

// Injector injects scripted faults; it is safe for concurrent use.
type Injector struct {
	v   *validate.Validator
	ops map[string]bool
	log *slog.Logger

	mu       sync.Mutex
	rules    []*rule
	injected map[string]int
}

// New returns an Injector with no rules, matching operations with v
// (validate.Default() when nil). It returns an error when the default
// validator does not load.
func New(v *validate.Validator) (*Injector, error) {
	if v == nil {
		var err error
		if v, err = validate.Default(); err != nil {
			return nil, fmt.Errorf("faults: %w", err)
		}
	}
	in := &Injector{v: v, ops: map[string]bool{}, log: slog.Default(), injected: map[string]int{}}
	for _, item := range v.Doc().Paths.Map() {
		for _, op := range item.Operations() {
			in.ops[op.OperationID] = true
		}
	}
	return in, nil
}

// SetLogger sets the logger told of every injected fault (default
// slog.Default()); call it before the Injector serves requests.
func (in *Injector) SetLogger(l *slog.Logger) { in.log = l }

// Add appends rules; the first rule that fires for a request wins. It
// returns an error, adding nothing, when a rule names an unknown operation,
// has neither Times nor a Probability in (0, 1], or an invalid fault.
func (in *Injector) Add(rules ...Rule) error {
	if err := in.validateRules(rules); err != nil {
		return err
	}
	add := make([]*rule, 0, len(rules))
	for _, r := range rules {
		nr := &rule{Rule: r}
		if r.Probability > 0 {
			nr.rng = rand.New(rand.NewPCG(r.Seed, r.Seed^0x9e3779b97f4a7c15))
		}
		add = append(add, nr)
	}
	in.mu.Lock()
	in.rules = append(in.rules, add...)
	in.mu.Unlock()
	return nil
}

// validateRules returns the first rule's error, as Add describes.
func (in *Injector) validateRules(rules []Rule) error {
	for i, r := range rules {
		if r.Operation != AnyOperation && !in.ops[r.Operation] {
			return fmt.Errorf("faults: rule %d: unknown operation %q", i, r.Operation)
		}
		switch {
		case r.Probability < 0 || r.Probability > 1 || math.IsNaN(r.Probability):
			return fmt.Errorf("faults: rule %d: probability must be between 0 and 1", i)
		case r.Probability == 0 && r.Times <= 0:
			return fmt.Errorf("faults: rule %d: set times (> 0) or a probability", i)
		}
		if err := r.Fault.validate(); err != nil {
			return fmt.Errorf("faults: rule %d: %w", i, err)
		}
	}
	return nil
}

// Next makes the next n calls of operation fail with f. It panics on an
// invalid rule (a programming error in a test); use Add to get an error.
func (in *Injector) Next(operation string, n int, f Fault) *Injector {
	if err := in.Add(Rule{Operation: operation, Times: n, Fault: f}); err != nil {
		panic(err)
	}
	return in
}

// Sometimes makes each call of operation fail with f with probability p,
// drawn from a generator seeded with seed. It panics on an invalid rule;
// use Add to get an error.
func (in *Injector) Sometimes(operation string, p float64, seed uint64, f Fault) *Injector {
	if err := in.Add(Rule{Operation: operation, Probability: p, Seed: seed, Fault: f}); err != nil {
		panic(err)
	}
	return in
}

// Reset removes every rule and zeroes the counts.
func (in *Injector) Reset() {
	in.mu.Lock()
	in.rules = nil
	clear(in.injected)
	in.mu.Unlock()
}

// Rules returns the rules still in force (Times counts what is left).
func (in *Injector) Rules() []Rule {
	in.mu.Lock()
	defer in.mu.Unlock()
	out := make([]Rule, 0, len(in.rules))
	for _, r := range in.rules {
		out = append(out, r.Rule)
	}
	return out
}

// Injected returns how many faults were injected into operation (all
// operations with AnyOperation).
func (in *Injector) Injected(operation string) int {
	in.mu.Lock()
	defer in.mu.Unlock()
	if operation == AnyOperation {
		n := 0
		for _, c := range in.injected {
			n += c
		}
		return n
	}
	return in.injected[operation]
}

// pick returns the fault to inject into a call of op, if any.
func (in *Injector) pick(op string) (Fault, bool) {
	in.mu.Lock()
	defer in.mu.Unlock()
	for i, r := range in.rules {
		if r.Operation != AnyOperation && r.Operation != op {
			continue
		}
		if r.rng != nil {
			if r.rng.Float64() >= r.Probability {
				continue
			}
		} else {
			r.Times--
			if r.Times <= 0 {
				in.rules = append(in.rules[:i:i], in.rules[i+1:]...)
			}
		}
		in.injected[op]++
		return r.Fault, true
	}
	return Fault{}, false
}

// empty reports whether no rule is in force.
func (in *Injector) empty() bool {
	in.mu.Lock()
	defer in.mu.Unlock()
	return len(in.rules) == 0
}

// Middleware returns next with the scripted faults injected. Requests that
// match no operation, and every request while no rule is in force, pass
// straight through.
func (in *Injector) Middleware(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if in.empty() {
			next.ServeHTTP(w, r)
			return
		}
		ex, err := in.v.Match(r)
		if err != nil {
			next.ServeHTTP(w, r)
			return
		}
		op := ex.OperationID()
		f, ok := in.pick(op)
		if !ok {
			next.ServeHTTP(w, r)
			return
		}
		in.log.InfoContext(r.Context(), "fault injected", slog.String("operation", op),
			slog.String("kind", string(f.Kind)), slog.String("code", string(f.Code)),
			slog.Duration("delay", time.Duration(f.Delay)), slog.Duration("retry_after", time.Duration(f.RetryAfter)))
		switch f.Kind {
		case KindError:
			writeError(w, f)
		case KindDelay:
			if err := sleep(r.Context(), time.Duration(f.Delay)); err != nil {
				return
			}
			next.ServeHTTP(w, r)
		case KindDrop:
			drop(w)
		case KindLoseResponse:
			next.ServeHTTP(&discard{header: http.Header{}}, r)
			drop(w)
		}
	})
}

func writeError(w http.ResponseWriter, f Fault) {
	if w.Header().Get(problem.RequestIDHeader) == "" {
		w.Header().Set(problem.RequestIDHeader, "req_"+ulid.Make(time.Now()))
	}
	if f.RetryAfter > 0 {
		secs := int64(math.Ceil(time.Duration(f.RetryAfter).Seconds()))
		w.Header().Set("Retry-After", strconv.FormatInt(secs, 10))
	}
	problem.Write(w, spotzee.Errorf(f.Code, "Injected fault: %s.", f.Code.Title()))
}

func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// drop closes the client's connection without a response: by hijacking it,
// or, where the writer cannot be hijacked (HTTP/2), by aborting the handler.
func drop(w http.ResponseWriter) {
	conn, _, err := http.NewResponseController(w).Hijack()
	if err != nil {
		panic(http.ErrAbortHandler)
	}
	_ = conn.Close()
}

// discard is a ResponseWriter that throws the response away.
type discard struct {
	header http.Header
}

func (d *discard) Header() http.Header         { return d.header }
func (d *discard) WriteHeader(int)             {}
func (d *discard) Write(p []byte) (int, error) { return len(p), nil }
