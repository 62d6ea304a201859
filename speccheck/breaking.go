package speccheck

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"regexp"
	"strconv"
	"strings"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/oasdiff/oasdiff/checker"
	"github.com/oasdiff/oasdiff/diff"
	"github.com/oasdiff/oasdiff/load"
)

// Levels of a Change, as oasdiff names them.
const (
	LevelError   = "error"
	LevelWarning = "warning"
)

// Change is one backward-compatibility change found by oasdiff.
type Change struct {
	ID        string // oasdiff check id, e.g. "response-required-property-removed"
	Level     string // LevelError or LevelWarning
	Operation string // method and path, e.g. "GET /keys" (empty for document-wide changes)
	Text      string // oasdiff's explanation
}

// String formats the change as "level [id] operation: text".
func (c Change) String() string {
	op := c.Operation
	if op != "" {
		op += ": "
	}
	return fmt.Sprintf("%-7s [%s] %s%s", c.Level, c.ID, op, c.Text)
}

// BreakingChanges diffs revision against base with oasdiff and runs all of
// its backward-compatibility checks. It returns the changes of level warning
// and error, in oasdiff's order; nil means none. base and revision must be
// separately loaded documents (one LoadData or LoadFile call each). On
// failure it returns a nil slice and the oasdiff error.
func BreakingChanges(base, revision *openapi3.T) ([]Change, error) {
	d, sources, err := diff.GetWithOperationsSourcesMap(diff.NewConfig(),
		specInfo("base", base), specInfo("revision", revision))
	if err != nil {
		return nil, fmt.Errorf("diff specs: %w", err)
	}
	found := checker.CheckBackwardCompatibility(checker.NewConfig(checker.GetAllChecks()), d, sources)
	localizer := checker.NewDefaultLocalizer()
	var changes []Change
	for _, c := range found {
		op := strings.TrimSpace(c.GetOperation() + " " + c.GetPath())
		changes = append(changes, Change{
			ID:        c.GetId(),
			Level:     c.GetLevel().String(),
			Operation: op,
			Text:      c.GetUncolorizedText(localizer),
		})
	}
	return changes, nil
}

func specInfo(name string, doc *openapi3.T) *load.SpecInfo {
	info := &load.SpecInfo{Url: name, Spec: doc}
	if doc.Info != nil {
		info.Version = doc.Info.Version
	}
	return info
}

// BreakingReport is the verdict of the breaking-change gate.
type BreakingReport struct {
	BaseMissing    bool     // the base has no spec (first commit): nothing was compared
	BaseVersion    string   // info.version of the base
	Version        string   // info.version of the revision
	Changes        []Change // every warning- and error-level change
	VersionBumped  bool     // Version is greater than BaseVersion
	ChangelogEntry bool     // the changelog has a heading naming Version
}

// Errors returns the number of error-level (breaking) changes.
func (r *BreakingReport) Errors() int {
	n := 0
	for _, c := range r.Changes {
		if c.Level == LevelError {
			n++
		}
	}
	return n
}

// Acknowledged reports whether the breaking changes are deliberate: the
// version was bumped and the changelog has an entry for the new version.
func (r *BreakingReport) Acknowledged() bool {
	return r.VersionBumped && r.ChangelogEntry
}

// Failed reports whether the gate fails: there is an error-level change that
// was not acknowledged by a version bump and a changelog entry.
func (r *BreakingReport) Failed() bool {
	return r.Errors() > 0 && !r.Acknowledged()
}

// CheckBreaking runs the breaking-change gate: base is the spec at the git
// ref compared against (nil when the ref has no spec, which passes with
// BaseMissing set), revision the working-tree spec and changelog the content
// of CHANGELOG.md (nil if there is none). It returns an error, and a nil
// report, only when a document cannot be loaded or diffed.
func CheckBreaking(ctx context.Context, base, revision, changelog []byte) (*BreakingReport, error) {
	rev, err := LoadData(ctx, revision, "revision")
	if err != nil {
		return nil, err
	}
	report := &BreakingReport{Version: version(rev)}
	if base == nil {
		report.BaseMissing = true
		return report, nil
	}
	old, err := LoadData(ctx, base, "base")
	if err != nil {
		return nil, err
	}
	report.BaseVersion = version(old)
	if report.Changes, err = BreakingChanges(old, rev); err != nil {
		return nil, err
	}
	report.VersionBumped = VersionBumped(report.BaseVersion, report.Version)
	report.ChangelogEntry = ChangelogHasVersion(changelog, report.Version)
	return report, nil
}

func version(doc *openapi3.T) string {
	if doc.Info == nil {
		return ""
	}
	return doc.Info.Version
}

var semverRE = regexp.MustCompile(`^v?(\d+)\.(\d+)\.(\d+)(?:-([0-9A-Za-z.-]+))?(?:\+[0-9A-Za-z.-]+)?$`)

// VersionBumped reports whether revision is a later version than base. Both
// are compared as semantic versions (a release outranks its pre-releases,
// pre-releases compare as strings); if either is not one, any change of the
// string counts as a bump. An empty revision is never a bump.
func VersionBumped(base, revision string) bool {
	if revision == "" {
		return false
	}
	b, r := semverRE.FindStringSubmatch(base), semverRE.FindStringSubmatch(revision)
	if b == nil || r == nil {
		return base != revision
	}
	for i := 1; i <= 3; i++ {
		bn, errB := strconv.ParseUint(b[i], 10, 64)
		rn, errR := strconv.ParseUint(r[i], 10, 64)
		if errB != nil || errR != nil {
			return base != revision
		}
		if bn != rn {
			return rn > bn
		}
	}
	switch bp, rp := b[4], r[4]; {
	case bp == rp:
		return false
	case rp == "":
		return true // 1.1.0 after 1.1.0-rc.1
	case bp == "":
		return false // 1.1.0-rc.1 after 1.1.0
	default:
		return rp > bp
	}
}

// ChangelogHasVersion reports whether changelog has a Markdown heading that
// names version as a whole word, e.g. "## 1.1.0" or "## [1.1.0] - 2026-05-01"
// (but not "## 1.1.01" or "## 11.1.0"). It returns false for an empty version.
func ChangelogHasVersion(changelog []byte, version string) bool {
	if version == "" {
		return false
	}
	word := regexp.MustCompile(`(^|[^0-9A-Za-z.])v?` + regexp.QuoteMeta(version) + `($|[^0-9A-Za-z.+-])`)
	heading := regexp.MustCompile(`^#{1,6}\s`)
	scanner := bufio.NewScanner(bytes.NewReader(changelog))
	for scanner.Scan() {
		line := scanner.Text()
		if heading.MatchString(line) && word.MatchString(line) {
			return true
		}
	}
	return false
}
