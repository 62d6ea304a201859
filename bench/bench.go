// Package bench holds the performance benchmarks of the reference server,
// the generated client and the SDK wrapper (run them with make bench), and
// the few helpers they share with the spotzee-load command: seeding keys, a
// bare JSON handler that serves as the throughput ceiling, percentiles, the
// load average and a process's peak resident set size.
//
// Absolute times on a shared, noisy machine say little, so every
// comparison also runs its variants interleaved and reports each one's
// ratio to a baseline measured in the same run (metrics named
// "<variant>:x-<baseline>"), and prints a table with its targets;
// docs/performance.md records one run and how to reproduce it. Timing
// targets live only here and in the load command's output, never in unit
// tests: go test without -bench runs quick correctness checks only.
package bench

import (
	"bufio"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"database/sql"
	"encoding/binary"
	"fmt"
	"net/http"
	"os"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"time"

	spotzee "github.com/spotzeekit/spotzee-keys"
	// The store's package registers the "sqlite" database/sql driver
	// (modernc.org/sqlite) that SeedKeysFile opens.
	_ "github.com/spotzeekit/spotzee-keys/sqlite"
)

// SeedKeys creates n secret keys (role support) in project projectID through
// store.CreateKey, one transaction each, created one microsecond apart from
// start so that list orders are deterministic. It returns their ids in
// creation order. Values are never needed, so each key gets the SHA-256 of a
// random nonce and its index as hash. It stops at the first error, or when
// ctx is done, and returns the ids created so far with the error.
func SeedKeys(ctx context.Context, store spotzee.Store, projectID int64, n int, start time.Time) ([]int64, error) {
	var nonce [16]byte
	_, _ = rand.Read(nonce[:])
	ids := make([]int64, 0, n)
	buf := make([]byte, len(nonce)+8)
	copy(buf, nonce[:])
	for i := range n {
		if err := ctx.Err(); err != nil {
			return ids, err
		}
		binary.BigEndian.PutUint64(buf[len(nonce):], uint64(i))
		hash := sha256.Sum256(buf)
		k, err := store.CreateKey(ctx, spotzee.NewKey{
			ProjectID:   projectID,
			Name:        "seed " + strconv.Itoa(i),
			Scope:       spotzee.ScopeSecret,
			Role:        spotzee.RoleSupport,
			ValuePrefix: "sk_",
			Last4:       fmt.Sprintf("%04d", i%10000),
			Hash:        hash[:],
			CreatedAt:   start.Add(time.Duration(i) * time.Microsecond),
		})
		if err != nil {
			return ids, fmt.Errorf("bench: seed key %d of %d: %w", i+1, n, err)
		}
		ids = append(ids, k.ID)
	}
	return ids, nil
}

// SeedKeysFile does what SeedKeys does, much faster, for a SQLite file the
// server has open (and so migrated): it inserts the n keys in a single
// transaction through a connection of its own — about a second for 100,000
// keys, where SeedKeys, one transaction per key, takes half a minute or
// more. It writes the api_keys rows as sqlite.DB.CreateKey writes them
// (sqlite/migrations/0001_init.sql, times in spotzee.FormatSortTime's
// layout), then reads the first and the last back through store, so a
// schema the rows no longer fit fails here rather than in a benchmark.
// When store has a FlushSearchIndex method (*sqlite.DB), it then indexes
// the new keys for search, which the store would only do within a minute
// (it does not see another connection's writes), so that searches start
// from the index at once.
func SeedKeysFile(ctx context.Context, path string, store spotzee.Store, projectID int64, n int, start time.Time) ([]int64, error) {
	db, err := sql.Open("sqlite", "file:"+strings.NewReplacer("%", "%25", "?", "%3f", "#", "%23").Replace(path)+
		"?_busy_timeout=5000&_foreign_keys=1&_txlock=immediate")
	if err != nil {
		return nil, fmt.Errorf("bench: seed %s: %w", path, err)
	}
	defer db.Close()
	var nonce [16]byte
	_, _ = rand.Read(nonce[:])
	buf := make([]byte, len(nonce)+8)
	copy(buf, nonce[:])
	ids := make([]int64, 0, n)
	err = func() error {
		tx, err := db.BeginTx(ctx, nil)
		if err != nil {
			return err
		}
		defer func() { _ = tx.Rollback() }()
		stmt, err := tx.PrepareContext(ctx, `INSERT INTO api_keys (project_id, name, description, scope, role,
			value_prefix, last4, hash, is_system, created_at, updated_at) VALUES (?, ?, NULL, ?, ?, ?, ?, ?, 0, ?, ?)`)
		if err != nil {
			return err
		}
		defer stmt.Close()
		for i := range n {
			binary.BigEndian.PutUint64(buf[len(nonce):], uint64(i))
			hash := sha256.Sum256(buf)
			at := spotzee.FormatSortTime(start.Add(time.Duration(i) * time.Microsecond))
			res, err := stmt.ExecContext(ctx, projectID, "seed "+strconv.Itoa(i), string(spotzee.ScopeSecret),
				string(spotzee.RoleSupport), "sk_", fmt.Sprintf("%04d", i%10000), hash[:], at, at)
			if err != nil {
				return err
			}
			id, err := res.LastInsertId()
			if err != nil {
				return err
			}
			ids = append(ids, id)
		}
		return tx.Commit()
	}()
	if err != nil {
		return nil, fmt.Errorf("bench: seed %d keys into %s: %w", n, path, err)
	}
	for _, id := range []int64{ids[0], ids[len(ids)-1]} {
		if _, err := store.Key(ctx, projectID, id); err != nil {
			return nil, fmt.Errorf("bench: a key seeded into %s does not read back: %w", path, err)
		}
	}
	if f, ok := store.(interface {
		FlushSearchIndex(context.Context) (int, error)
	}); ok {
		if _, err := f.FlushSearchIndex(ctx); err != nil {
			return nil, fmt.Errorf("bench: index the keys seeded into %s: %w", path, err)
		}
	}
	return ids, nil
}

// BareBody is what BareHandler answers: a small fixed JSON object.
const BareBody = `{"id":1,"name":"bare","status":"ok"}` + "\n"

// BareHandler returns the throughput ceiling: a plain net/http handler that
// answers every request with BareBody as application/json, doing nothing
// else. Whatever the reference server adds is measured against it.
func BareHandler() http.Handler {
	body := []byte(BareBody)
	return http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(body)
	})
}

// Percentile returns the p-th percentile (0 < p ≤ 100) of sorted, by the
// nearest-rank method; 0 for an empty slice.
func Percentile(sorted []time.Duration, p float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	rank := int(p/100*float64(len(sorted))+0.999999) - 1
	return sorted[min(max(rank, 0), len(sorted)-1)]
}

// SortDurations sorts d in place and returns it.
func SortDurations(d []time.Duration) []time.Duration {
	slices.Sort(d)
	return d
}

// Memory is a process's resident set size as Linux reports it.
type Memory struct {
	// Peak is VmHWM, the high-water mark of the resident set, in bytes.
	Peak int64
	// Current is VmRSS, the resident set now, in bytes.
	Current int64
}

// ProcessMemory reads VmHWM and VmRSS from /proc/<pid>/status (pid 0: this
// process). It returns an error where /proc is not available.
func ProcessMemory(pid int) (Memory, error) {
	path := "/proc/self/status"
	if pid > 0 {
		path = "/proc/" + strconv.Itoa(pid) + "/status"
	}
	f, err := os.Open(path)
	if err != nil {
		return Memory{}, fmt.Errorf("bench: read memory: %w", err)
	}
	defer f.Close()
	var m Memory
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		name, value, ok := strings.Cut(sc.Text(), ":")
		if !ok || (name != "VmHWM" && name != "VmRSS") {
			continue
		}
		fields := strings.Fields(value) // "12345 kB"
		if len(fields) != 2 || fields[1] != "kB" {
			return Memory{}, fmt.Errorf("bench: unexpected %s line %q in %s", name, sc.Text(), path)
		}
		kb, err := strconv.ParseInt(fields[0], 10, 64)
		if err != nil {
			return Memory{}, fmt.Errorf("bench: %s in %s: %w", name, path, err)
		}
		if name == "VmHWM" {
			m.Peak = kb << 10
		} else {
			m.Current = kb << 10
		}
	}
	if err := sc.Err(); err != nil {
		return Memory{}, fmt.Errorf("bench: read %s: %w", path, err)
	}
	if m.Peak == 0 {
		return Memory{}, fmt.Errorf("bench: no VmHWM in %s", path)
	}
	return m, nil
}

// MiB formats a byte count in mebibytes.
func MiB(n int64) string { return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20)) }

// LoadAverage returns the 1, 5 and 15-minute load averages from
// /proc/loadavg ("unknown" elsewhere): on a shared machine, the context of
// every figure.
func LoadAverage() string {
	data, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "unknown"
	}
	f := strings.Fields(string(data))
	if len(f) < 3 {
		return "unknown"
	}
	return strings.Join(f[:3], " ")
}

// Machine describes where a figure was measured: CPUs, CPU model, memory
// and Go version, for the header of a report.
func Machine() string {
	model := "unknown CPU"
	if data, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for line := range strings.Lines(string(data)) {
			if name, value, ok := strings.Cut(line, ":"); ok && strings.TrimSpace(name) == "model name" {
				model = strings.TrimSpace(value)
				break
			}
		}
	}
	mem := "unknown"
	if data, err := os.ReadFile("/proc/meminfo"); err == nil {
		for line := range strings.Lines(string(data)) {
			if v, ok := strings.CutPrefix(line, "MemTotal:"); ok {
				if f := strings.Fields(v); len(f) == 2 {
					if kb, err := strconv.ParseInt(f[0], 10, 64); err == nil {
						mem = fmt.Sprintf("%.1f GiB", float64(kb)/(1<<20))
					}
				}
				break
			}
		}
	}
	return fmt.Sprintf("%d CPUs (GOMAXPROCS %d), %s, %s RAM, %s %s/%s",
		runtime.NumCPU(), runtime.GOMAXPROCS(0), model, mem, runtime.Version(), runtime.GOOS, runtime.GOARCH)
}
