package sqlite

import (
	"context"
	"crypto/sha256"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	spotzee "github.com/spotzeekit/spotzee-keys"
)

// BenchmarkUpdateKey measures UpdateKey by a live admin caller on a WAL
// database file holding 1,000 keys, for each shape of update, and reports
// the WAL frames (pages) each commit writes: with synchronous=NORMAL a
// commit's cost is mostly its frames, two pwrites each (issue #16). The
// WAL is checkpointed outside the timer every 500 updates, so its growth
// is all the updates' own.
//
//	go test ./sqlite -run '^$' -bench UpdateKey -benchmem
func BenchmarkUpdateKey(b *testing.B) {
	ctx := context.Background()
	path := filepath.Join(b.TempDir(), "keys.db")
	db, err := Open(ctx, path)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = db.Close() })
	t0 := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	p, err := db.CreateProject(ctx, "bench", spotzee.TierStarter, t0)
	if err != nil {
		b.Fatal(err)
	}
	ids := make([]int64, 0, 1000)
	for i := range cap(ids) {
		h := sha256.Sum256(fmt.Appendf(nil, "sk_bench_%d", i))
		k, err := db.CreateKey(ctx, spotzee.NewKey{ProjectID: p.ID, Name: fmt.Sprintf("key %d", i),
			Scope: spotzee.ScopeSecret, Role: spotzee.RoleAdmin, ValuePrefix: "sk_", Last4: "abcd", Hash: h[:],
			CreatedAt: t0.Add(time.Duration(i) * time.Millisecond)})
		if err != nil {
			b.Fatal(err)
		}
		ids = append(ids, k.ID)
	}
	if _, err := db.w.ExecContext(ctx, `PRAGMA wal_autocheckpoint = 0`); err != nil {
		b.Fatal(err)
	}
	var pageSize int64
	if err := db.w.QueryRowContext(ctx, `PRAGMA page_size`).Scan(&pageSize); err != nil {
		b.Fatal(err)
	}
	walFrames := func() int64 { // after the 32-byte WAL header, 24 bytes and a page each
		fi, err := os.Stat(path + "-wal")
		if err != nil {
			b.Fatal(err)
		}
		return max(fi.Size()-32, 0) / (pageSize + 24)
	}
	truncate := func() {
		if _, err := db.w.ExecContext(ctx, `PRAGMA wal_checkpoint(TRUNCATE)`); err != nil {
			b.Fatal(err)
		}
	}
	caller := ids[0]
	now := t0.Add(time.Hour)
	shapes := []struct {
		name string
		u    func(i int) spotzee.KeyUpdate
	}{
		{"name", func(i int) spotzee.KeyUpdate {
			return spotzee.KeyUpdate{Name: ptrTo(fmt.Sprintf("load %d", i*7919%1000))}
		}},
		{"description", func(i int) spotzee.KeyUpdate {
			return spotzee.KeyUpdate{SetDescription: true, Description: ptrTo(fmt.Sprintf("d %d", i))}
		}},
		{"role", func(i int) spotzee.KeyUpdate {
			r := spotzee.RoleEditor
			if i%2 == 1 {
				r = spotzee.RolePublisher
			}
			return spotzee.KeyUpdate{Role: &r}
		}},
	}
	for _, s := range shapes {
		b.Run(s.name, func(b *testing.B) {
			truncate()
			var frames int64
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				if i%500 == 0 && i > 0 {
					b.StopTimer()
					frames += walFrames()
					truncate()
					b.StartTimer()
				}
				now = now.Add(time.Millisecond)
				if _, err := db.UpdateKey(ctx, caller, p.ID, ids[1+i%(len(ids)-1)], s.u(i), now); err != nil {
					b.Fatal(err)
				}
				i++
			}
			frames += walFrames()
			b.ReportMetric(float64(frames)/float64(i), "frames/op")
		})
	}
}

func ptrTo[T any](v T) *T { return &v }
