package proxy

import (
	"encoding/json"
	"encoding/xml"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/spotzeekit/spotzee-keys/coverage"
)

// Exchange is one operation × status pair the proxy forwarded.
type Exchange struct {
	// OperationID is the operation, or "METHOD /path" for a request that
	// matched none.
	OperationID string `json:"operation_id"`
	Status      int    `json:"status"`
	Count       int    `json:"count"`
	// Violations counts the violations seen on this pair.
	Violations int `json:"violations"`
}

// Report is a snapshot of a proxy session.
type Report struct {
	// Upstream is the upstream URL, any password redacted.
	Upstream string    `json:"upstream"`
	Profile  string    `json:"profile"`
	Started  time.Time `json:"started"`
	Finished time.Time `json:"finished"`
	Requests int       `json:"requests"`
	// Exchanges lists every pair forwarded, sorted.
	Exchanges []Exchange `json:"exchanges"`
	// Violations lists every violation in the order seen.
	Violations []Violation     `json:"violations"`
	Coverage   coverage.Report `json:"coverage"`

	byPair map[pairKey][]Violation
}

// Report returns a snapshot of the session so far; its lists are never
// nil.
func (p *Proxy) Report() Report {
	p.mu.Lock()
	rep := Report{
		Upstream: p.upstream, Profile: p.cfg.Profile, Started: p.started, Finished: p.cfg.Now(),
		Requests: p.requests, Exchanges: []Exchange{}, Violations: slices.Clone(p.violations),
		byPair: map[pairKey][]Violation{},
	}
	if rep.Violations == nil {
		rep.Violations = []Violation{}
	}
	for k, pr := range p.pairs {
		rep.Exchanges = append(rep.Exchanges, Exchange{OperationID: k.op, Status: k.status, Count: pr.count, Violations: len(pr.violations)})
		for _, i := range pr.violations {
			rep.byPair[k] = append(rep.byPair[k], p.violations[i])
		}
	}
	p.mu.Unlock()
	slices.SortFunc(rep.Exchanges, func(a, b Exchange) int {
		if c := strings.Compare(a.OperationID, b.OperationID); c != 0 {
			return c
		}
		return a.Status - b.Status
	})
	rep.Coverage = p.cfg.Coverage.Report()
	return rep
}

// WriteJSON writes the report as indented JSON. It returns the encoder's
// error.
func (rep Report) WriteJSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	if err := enc.Encode(rep); err != nil {
		return fmt.Errorf("proxy: write JSON report: %w", err)
	}
	return nil
}

// JUnitSuites is the JUnit XML document WriteJUnit writes: one testsuite,
// one testcase per operation × status forwarded, a failure on each pair
// that had violations.
type JUnitSuites struct {
	XMLName  xml.Name     `xml:"testsuites"`
	Name     string       `xml:"name,attr"`
	Tests    int          `xml:"tests,attr"`
	Failures int          `xml:"failures,attr"`
	Suites   []JUnitSuite `xml:"testsuite"`
}

// JUnitSuite is a JUnit testsuite.
type JUnitSuite struct {
	Name      string          `xml:"name,attr"`
	Tests     int             `xml:"tests,attr"`
	Failures  int             `xml:"failures,attr"`
	Time      string          `xml:"time,attr"`
	Timestamp string          `xml:"timestamp,attr"`
	Cases     []JUnitTestCase `xml:"testcase"`
}

// JUnitTestCase is a JUnit testcase.
type JUnitTestCase struct {
	ClassName string        `xml:"classname,attr"`
	Name      string        `xml:"name,attr"`
	Failure   *JUnitFailure `xml:"failure,omitempty"`
	SystemOut string        `xml:"system-out,omitempty"`
}

// JUnitFailure is a JUnit failure.
type JUnitFailure struct {
	Message string `xml:"message,attr"`
	Type    string `xml:"type,attr"`
	Text    string `xml:",chardata"`
}

// JUnit returns the report as a JUnit document.
func (rep Report) JUnit() JUnitSuites {
	suite := JUnitSuite{
		Name:      "spotzee-keys contract (" + rep.Profile + ") via " + rep.Upstream,
		Time:      fmt.Sprintf("%.3f", rep.Finished.Sub(rep.Started).Seconds()),
		Timestamp: rep.Started.UTC().Format(time.RFC3339),
	}
	for _, e := range rep.Exchanges {
		tc := JUnitTestCase{
			ClassName: "contract." + strings.ReplaceAll(e.OperationID, " ", "_"),
			Name:      fmt.Sprintf("%s %d", e.OperationID, e.Status),
			SystemOut: fmt.Sprintf("%d exchange(s)", e.Count),
		}
		if vs := rep.byPair[pairKey{e.OperationID, e.Status}]; len(vs) > 0 {
			var text strings.Builder
			for _, v := range vs {
				fmt.Fprintf(&text, "%s %s %s %s: %s\n", v.Time.UTC().Format(time.RFC3339Nano), v.Kind, v.Method, v.Path, v.Reason)
			}
			tc.Failure = &JUnitFailure{
				Message: fmt.Sprintf("%d contract violation(s); first: %s: %s", len(vs), vs[0].Kind, vs[0].Reason),
				Type:    "ContractViolation",
				Text:    text.String(),
			}
			suite.Failures++
		}
		suite.Cases = append(suite.Cases, tc)
	}
	suite.Tests = len(suite.Cases)
	return JUnitSuites{Name: "spotzee-keys proxy", Tests: suite.Tests, Failures: suite.Failures, Suites: []JUnitSuite{suite}}
}

// WriteJUnit writes the report as JUnit XML. It returns the encoder's
// error.
func (rep Report) WriteJUnit(w io.Writer) error {
	if _, err := io.WriteString(w, xml.Header); err != nil {
		return fmt.Errorf("proxy: write JUnit report: %w", err)
	}
	enc := xml.NewEncoder(w)
	enc.Indent("", "  ")
	if err := enc.Encode(rep.JUnit()); err != nil {
		return fmt.Errorf("proxy: write JUnit report: %w", err)
	}
	if _, err := io.WriteString(w, "\n"); err != nil {
		return fmt.Errorf("proxy: write JUnit report: %w", err)
	}
	return nil
}

// WriteFiles writes the JSON report to jsonPath and the JUnit report to
// junitPath (an empty path is skipped). It returns the first write error.
func (rep Report) WriteFiles(jsonPath, junitPath string) error {
	for _, f := range []struct {
		path  string
		write func(io.Writer) error
	}{{jsonPath, rep.WriteJSON}, {junitPath, rep.WriteJUnit}} {
		if f.path == "" {
			continue
		}
		if err := writeFile(f.path, f.write); err != nil {
			return err
		}
	}
	return nil
}

func writeFile(path string, write func(io.Writer) error) error {
	out, err := os.Create(path)
	if err != nil {
		return fmt.Errorf("proxy: %w", err)
	}
	if err := write(out); err != nil {
		_ = out.Close()
		return err
	}
	if err := out.Close(); err != nil {
		return fmt.Errorf("proxy: %w", err)
	}
	return nil
}
