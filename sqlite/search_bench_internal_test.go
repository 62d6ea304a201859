package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"path/filepath"
	"slices"
	"testing"
	"time"
)

// The search index as migration 0011 first kept it (commit 9444acd): FTS5
// written by the triggers of every key write (its delete given the old text,
// as the table is since migration 0012).
const ftsTriggers = `
DROP TRIGGER api_keys_search_insert;
DROP TRIGGER api_keys_search_update;
DROP TRIGGER api_keys_search_revoke;
DROP TRIGGER api_keys_search_delete;
CREATE TRIGGER api_keys_search_update AFTER UPDATE OF name, description ON api_keys
WHEN NEW.revoked_at IS NULL
BEGIN
	INSERT INTO api_keys_search (api_keys_search, rowid, name_fold, description_fold)
		VALUES ('delete', OLD.id, spotzee_fold(OLD.name), spotzee_fold(OLD.description));
	INSERT INTO api_keys_search (rowid, name_fold, description_fold)
		VALUES (NEW.id, spotzee_fold(NEW.name), spotzee_fold(NEW.description));
END;`

// BenchmarkRenameTx measures one transaction renaming a key (UPDATE of
// name, one key of 1,000, in turn), on a database file (WAL,
// synchronous=NORMAL), with the search index:
//
//   - none: without it (its triggers dropped), the floor;
//   - fts: written by the rename's own trigger, as in commit 9444acd;
//   - queue: queued by the trigger (migration 0011), never flushed;
//   - queue+flush: queued, and flushed every searchFlushThreshold renames;
//     its time is a rename's plus a flush's divided by the renames it
//     indexes ("flush-ns" is a flush's mean).
//
// The machine is shared and noisy, so each iteration renames once in each
// variant's database, in rotating order, timing every call; it reports each
// variant's trimmed mean (slowest 1% dropped) as "<variant>-ns" and its
// ratio to none as "<variant>:x-none".
func BenchmarkRenameTx(b *testing.B) {
	ctx := context.Background()
	variants := []string{"none", "fts", "queue", "queue+flush"}
	dbs := make([]*DB, len(variants))
	for j, v := range variants {
		db, err := open(ctx, filepath.Join(b.TempDir(), "keys.db"), options{})
		if err != nil {
			b.Fatal(err)
		}
		defer db.Close()
		setup := seedSQL("key ", 1000)
		switch v {
		case "none":
			setup = append(setup, `DROP TRIGGER api_keys_search_insert; DROP TRIGGER api_keys_search_update;
				DROP TRIGGER api_keys_search_revoke; DROP TRIGGER api_keys_search_delete;`)
		case "fts":
			setup = append(setup, ftsTriggers)
		}
		for _, s := range setup {
			if _, err := db.w.ExecContext(ctx, s); err != nil {
				b.Fatal(err)
			}
		}
		if _, err := db.FlushSearchIndex(ctx); err != nil {
			b.Fatal(err)
		}
		dbs[j] = db
	}
	times := make([][]time.Duration, len(variants))
	var flushes []time.Duration
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		for k := range variants {
			j := (i + k) % len(variants)
			db := dbs[j]
			start := time.Now()
			err := inTx(ctx, db.w, nil, func(tx *sql.Tx) error {
				_, err := tx.ExecContext(ctx, `UPDATE api_keys SET name = ? WHERE id = ?`, fmt.Sprintf("renamed %d", i), 1+i%1000)
				return err
			})
			times[j] = append(times[j], time.Since(start))
			if err == nil && variants[j] == "queue+flush" && (i+1)%searchFlushThreshold == 0 {
				start = time.Now()
				_, err = db.FlushSearchIndex(ctx)
				flushes = append(flushes, time.Since(start))
			}
			if err != nil {
				b.Fatal(err)
			}
		}
	}
	b.StopTimer()
	means := make([]float64, len(variants))
	for j, d := range times {
		slices.Sort(d)
		d = d[:max(1, len(d)*99/100)]
		var sum time.Duration
		for _, x := range d {
			sum += x
		}
		means[j] = float64(sum) / float64(len(d))
		if variants[j] == "queue+flush" && len(flushes) > 0 {
			var f time.Duration
			for _, x := range flushes {
				f += x
			}
			flush := float64(f) / float64(len(flushes))
			b.ReportMetric(flush, "flush-ns")
			means[j] += flush / searchFlushThreshold
		}
		b.ReportMetric(means[j], variants[j]+"-ns")
		if j > 0 {
			b.ReportMetric(means[j]/means[0], variants[j]+":x-none")
		}
	}
}
