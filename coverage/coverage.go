// Package coverage records which operations × documented response statuses
// of the OpenAPI contract a test run (or a proxy session) has seen, and
// reports what was seen, what never was and what was not documented at all.
//
// A *Recorder implements validate.Recorder, so validate.Transport
// (validate.WithRecorder), validate.Middleware (validate.RecordTo),
// Validator.Observer, the contract proxy and spotzeetest.WithCoverage all
// feed it:
//
//	rec, _ := coverage.Default()
//	srv := spotzeetest.NewServer(t, spotzeetest.WithCoverage(rec))
//	// ... exercise srv ...
//	coverage.Require(t, rec, 0.5)
package coverage

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"

	"github.com/getkin/kin-openapi/openapi3"

	"github.com/spotzeekit/spotzee-keys/validate"
)

// Entry is one operation × status pair.
type Entry struct {
	// OperationID is the operation's operationId.
	OperationID string `json:"operation_id"`
	// Method and Path locate the operation in the spec.
	Method string `json:"method"`
	Path   string `json:"path"`
	// Status is the HTTP status.
	Status int `json:"status"`
	// Count is how many responses were seen (0 in Report.Unseen).
	Count int `json:"count"`
}

// String returns "operationId status".
func (e Entry) String() string { return fmt.Sprintf("%s %d", e.OperationID, e.Status) }

type key struct {
	op     string
	status int
}

type operation struct {
	method, path string
}

// Recorder counts the responses seen per operation and status. It is safe
// for concurrent use; the zero value is not usable (use New or Default).
type Recorder struct {
	ops        map[string]operation
	documented []key // sorted
	isDoc      map[key]bool

	mu   sync.Mutex
	seen map[key]int
}

// New returns a Recorder of the operations and numeric response statuses
// documented in doc ("default" and range keys such as "5XX" are not
// counted as documented statuses).
func New(doc *openapi3.T) *Recorder {
	r := &Recorder{ops: map[string]operation{}, isDoc: map[key]bool{}, seen: map[key]int{}}
	if doc == nil || doc.Paths == nil {
		return r
	}
	for path, item := range doc.Paths.Map() {
		for method, op := range item.Operations() {
			if op.OperationID == "" {
				continue
			}
			r.ops[op.OperationID] = operation{method: strings.ToUpper(method), path: path}
			if op.Responses == nil {
				continue
			}
			for code := range op.Responses.Map() {
				status, err := strconv.Atoi(code)
				if err != nil {
					continue
				}
				k := key{op.OperationID, status}
				r.isDoc[k] = true
				r.documented = append(r.documented, k)
			}
		}
	}
	slices.SortFunc(r.documented, compareKeys)
	return r
}

// Default returns a new Recorder for the faithful contract (the operations
// and statuses are the same in the reference profile). It returns an error
// if the embedded spec does not load.
func Default() (*Recorder, error) {
	v, err := validate.Default()
	if err != nil {
		return nil, fmt.Errorf("coverage: %w", err)
	}
	return New(v.Doc()), nil
}

func compareKeys(a, b key) int {
	if c := strings.Compare(a.op, b.op); c != 0 {
		return c
	}
	return a.status - b.status
}

// Record counts one response with status to operationID. It implements
// validate.Recorder.
func (r *Recorder) Record(operationID string, status int) {
	r.mu.Lock()
	r.seen[key{operationID, status}]++
	r.mu.Unlock()
}

// Reset forgets every response recorded so far.
func (r *Recorder) Reset() {
	r.mu.Lock()
	clear(r.seen)
	r.mu.Unlock()
}

var _ validate.Recorder = (*Recorder)(nil)

// Report is a snapshot of a Recorder.
type Report struct {
	// Documented is the number of operation × status pairs in the spec.
	Documented int `json:"documented"`
	// Covered is the number of documented pairs seen at least once.
	Covered int `json:"covered"`
	// Ratio is Covered / Documented (1 when nothing is documented).
	Ratio float64 `json:"ratio"`
	// Seen lists the documented pairs seen, with counts.
	Seen []Entry `json:"seen"`
	// Unseen lists the documented pairs never seen.
	Unseen []Entry `json:"unseen"`
	// Undocumented lists the pairs seen whose status the spec does not
	// document for the operation (or whose operation it does not know).
	Undocumented []Entry `json:"undocumented"`
}

// Report returns a snapshot of what has been recorded, every list sorted by
// operationId then status, and never nil.
func (r *Recorder) Report() Report {
	r.mu.Lock()
	seen := make(map[key]int, len(r.seen))
	for k, n := range r.seen {
		seen[k] = n
	}
	r.mu.Unlock()
	rep := Report{Documented: len(r.documented), Seen: []Entry{}, Unseen: []Entry{}, Undocumented: []Entry{}}
	for _, k := range r.documented {
		e := r.entry(k, seen[k])
		if e.Count > 0 {
			rep.Seen = append(rep.Seen, e)
		} else {
			rep.Unseen = append(rep.Unseen, e)
		}
	}
	var extra []key
	for k := range seen {
		if !r.isDoc[k] {
			extra = append(extra, k)
		}
	}
	slices.SortFunc(extra, compareKeys)
	for _, k := range extra {
		rep.Undocumented = append(rep.Undocumented, r.entry(k, seen[k]))
	}
	rep.Covered = len(rep.Seen)
	rep.Ratio = 1
	if rep.Documented > 0 {
		rep.Ratio = float64(rep.Covered) / float64(rep.Documented)
	}
	return rep
}

func (r *Recorder) entry(k key, n int) Entry {
	op := r.ops[k.op]
	return Entry{OperationID: k.op, Method: op.method, Path: op.path, Status: k.status, Count: n}
}

// Check returns an error when the ratio of documented pairs seen is below
// min (0 to 1), naming how many were missed; nil otherwise.
func (rep Report) Check(min float64) error {
	if rep.Ratio+1e-9 < min {
		return fmt.Errorf("coverage: %d of %d documented operation × status pairs seen (%.1f%%), below the %.1f%% required; %d never seen",
			rep.Covered, rep.Documented, 100*rep.Ratio, 100*min, len(rep.Unseen))
	}
	return nil
}

// WriteText writes the report for people: a summary line, then the seen,
// unseen and undocumented pairs. It returns the writer's error.
func (rep Report) WriteText(w io.Writer) error {
	var b strings.Builder
	fmt.Fprintf(&b, "contract coverage: %d/%d operation × status pairs (%.1f%%)\n", rep.Covered, rep.Documented, 100*rep.Ratio)
	section := func(title string, entries []Entry, counts bool) {
		fmt.Fprintf(&b, "%s (%d):\n", title, len(entries))
		for _, e := range entries {
			fmt.Fprintf(&b, "  %-28s %-6s %-16s %d %s", e.OperationID, e.Method, e.Path, e.Status, http.StatusText(e.Status))
			if counts {
				fmt.Fprintf(&b, " ×%d", e.Count)
			}
			b.WriteByte('\n')
		}
	}
	section("seen", rep.Seen, true)
	section("never seen", rep.Unseen, false)
	if len(rep.Undocumented) > 0 {
		section("undocumented", rep.Undocumented, true)
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// WriteJSON writes the report as indented JSON. It returns the encoder's
// error.
func (rep Report) WriteJSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	if err := enc.Encode(rep); err != nil {
		return fmt.Errorf("coverage: %w", err)
	}
	return nil
}

// TB is the part of testing.TB that Require uses (so that this package
// does not import testing into binaries).
type TB interface {
	Helper()
	Errorf(format string, args ...any)
	Logf(format string, args ...any)
}

// Require fails tb (Errorf: the test goes on) when rec has seen less than
// min (0 to 1) of the documented pairs, with the text report; it logs the
// summary otherwise.
func Require(tb TB, rec *Recorder, min float64) {
	tb.Helper()
	rep := rec.Report()
	if err := rep.Check(min); err != nil {
		var b strings.Builder
		_ = rep.WriteText(&b)
		tb.Errorf("%v\n%s", err, b.String())
		return
	}
	tb.Logf("contract coverage: %d/%d (%.1f%%)", rep.Covered, rep.Documented, 100*rep.Ratio)
}
