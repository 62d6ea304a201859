package sqlite

import (
	"context"
	"crypto/rand"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	msqlite "modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	spotzee "github.com/spotzeekit/spotzee-keys"
)

//go:embed migrations/*.sql
var migrations embed.FS

// busyTimeout is how long a connection waits for a lock another connection
// (or process) holds before failing with SQLITE_BUSY.
const busyTimeout = 5 * time.Second

// Compile-time checks that DB implements the domain's storage interfaces.
var (
	_ spotzee.Store            = (*DB)(nil)
	_ spotzee.IdempotencyStore = (*DB)(nil)
	_ spotzee.SecretStore      = (*DB)(nil)
)

// DB is a SQLite database holding projects, keys, idempotency records and
// secrets. It is safe for concurrent use.
type DB struct {
	w *sql.DB // one connection; every write, in an IMMEDIATE transaction
	r *sql.DB // read-only pool

	// keep pins one connection of an in-memory database, which SQLite frees
	// when its last connection closes.
	keep *sql.Conn

	// stmts caches prepared statements by pool and SQL text (see stmt.go).
	stmts sync.Map

	// search flushes the search index's queue (see search.go).
	search searchFlusher
	// ckpt is the connection that checkpoints a file database's WAL in the
	// background (see checkpoint.go); nil when the writer checkpoints.
	ckpt *sql.DB

	// The change stamp (see stamp.go): for a file, the mapped WAL-index
	// header (nil when it could not be mapped, and after Close); for
	// ":memory:", the count of write transactions.
	memory  bool
	shmMap  *shmMapping
	shm     atomic.Pointer[walIndexHeader]
	commits atomic.Uint64
	// checkpoints counts the background checkpoints run (tests wait on it).
	checkpoints atomic.Uint64
	// labelObserver is OnLabelCommit's f.
	labelObserver atomic.Pointer[func(before, after ChangeStamp, touched []int64)]
	closed        atomic.Bool

	// wq queues writes for group commit (see group.go).
	wq writeQueue
}

// options are Open's settings that only tests change.
type options struct {
	// searchFlushEvery is the background search flush's tick; 0 turns the
	// background flush off (Open still flushes once).
	searchFlushEvery time.Duration
	// searchOptimizeEvery is the flushes after which the background flush
	// optimizes the index without waiting for an idle tick (0:
	// searchOptimizeEvery).
	searchOptimizeEvery int
}

// Open opens (creating it when missing) the SQLite database file at path, a
// plain file path rather than a URI, and applies the migrations it lacks. The
// path ":memory:" opens a new private in-memory database, gone once closed.
// A database file Open creates, and its -wal and -shm files, have mode
// FileMode (0600). Open returns an error when the database cannot be opened
// or a migration fails; nothing stays open then.
//
// Open also indexes the keys queued for the key list's search index (see
// FlushSearchIndex) and starts a goroutine that keeps that queue short in
// the background until Close.
func Open(ctx context.Context, path string) (*DB, error) {
	return open(ctx, path, options{searchFlushEvery: searchFlushInterval})
}

// open is Open with opts.
func open(ctx context.Context, path string, opts options) (*DB, error) {
	if path == "" {
		return nil, errors.New("sqlite: open: empty path")
	}
	if err := registerFold(); err != nil {
		return nil, fmt.Errorf("sqlite: register %s: %w", foldFunc, err)
	}
	memory := path == ":memory:"
	name := fileURI(path)
	if memory {
		// memdb (unlike mode=memory&cache=shared) has real locking, so the
		// writer and the readers share the database like they share a file.
		name = "file:/spotzee-" + rand.Text() + "?vfs=memdb"
	}
	sep := "?"
	if strings.Contains(name, "?") {
		sep = "&"
	}
	common := fmt.Sprintf("_busy_timeout=%d&_foreign_keys=1", busyTimeout.Milliseconds())
	wdsn := name + sep + common + "&_txlock=immediate"
	if !memory {
		wdsn += "&_journal_mode=WAL&_synchronous=NORMAL"
	}
	rdsn := name + sep + common + "&_query_only=1"

	if !memory {
		if err := createPrivate(path); err != nil {
			return nil, fmt.Errorf("sqlite: open %s: %w", path, err)
		}
	}

	db := &DB{memory: memory}
	var err error
	if db.w, err = sql.Open("sqlite", wdsn); err != nil {
		return nil, fmt.Errorf("sqlite: open %s: %w", path, err)
	}
	db.w.SetMaxOpenConns(1)
	db.w.SetMaxIdleConns(1)
	db.w.SetConnMaxLifetime(0)
	db.w.SetConnMaxIdleTime(0)
	if err := db.w.PingContext(ctx); err != nil {
		_ = db.w.Close()
		return nil, fmt.Errorf("sqlite: open %s: %w", path, err)
	}
	if err := migrate(ctx, db.w, migrations); err != nil {
		_ = db.w.Close()
		return nil, fmt.Errorf("sqlite: open %s: %w", path, err)
	}
	db.warm(ctx, db.w, sqlSavepoint, sqlRelease, sqlRollbackTo)
	// Keys another connection wrote (or a flush that never ran) left in
	// the search queue: index them now rather than have every search read
	// them.
	if _, err := db.FlushSearchIndex(ctx); err != nil {
		_ = db.w.Close()
		return nil, fmt.Errorf("sqlite: open %s: %w", path, err)
	}
	if !memory {
		// The writer has put the database in WAL mode, so -wal and -shm exist.
		if err := restrictSidecars(path); err != nil {
			_ = db.w.Close()
			return nil, fmt.Errorf("sqlite: open %s: %w", path, err)
		}
	}

	if db.r, err = sql.Open("sqlite", rdsn); err != nil {
		_ = db.w.Close()
		return nil, fmt.Errorf("sqlite: open %s: %w", path, err)
	}
	readers := max(4, runtime.GOMAXPROCS(0)) + 1 // and the pinned one
	db.r.SetMaxOpenConns(readers)
	db.r.SetMaxIdleConns(readers)
	if db.keep, err = db.r.Conn(ctx); err == nil && !memory {
		err = db.mapWALIndex(ctx, path)
	}
	if err != nil {
		_ = db.Close()
		return nil, fmt.Errorf("sqlite: open %s: %w", path, err)
	}
	if opts.searchFlushEvery > 0 {
		if !memory {
			if err := db.startCheckpointer(ctx, wdsnBase(name, sep, common)); err != nil {
				_ = db.Close()
				return nil, fmt.Errorf("sqlite: open %s: %w", path, err)
			}
		}
		every := opts.searchOptimizeEvery
		if every <= 0 {
			every = searchOptimizeEvery
		}
		db.startSearchFlusher(opts.searchFlushEvery, every)
	}
	return db, nil
}

// mapWALIndex makes the pinned reader connection open the WAL index, so
// that this process holds the -shm file open (SQLite neither truncates nor
// deletes it then), and maps the file's header for ChangeStamp. A header
// that cannot be mapped is no error: ChangeStamp then reports ok=false.
func (db *DB) mapWALIndex(ctx context.Context, path string) error {
	var n int
	if err := db.keep.QueryRowContext(ctx, `SELECT count(*) FROM schema_migrations`).Scan(&n); err != nil {
		return err
	}
	var mode string
	if err := db.keep.QueryRowContext(ctx, `PRAGMA journal_mode`).Scan(&mode); err != nil {
		return err
	}
	if !strings.EqualFold(mode, "wal") {
		// No WAL (a file system without shared memory): a -shm file left
		// from another time would never change, so there is no stamp.
		return nil
	}
	db.shmMap = mapShm(path)
	if db.shmMap.err == nil {
		db.shm.Store(db.shmMap.hdr)
	}
	return nil
}

// FileMode is the mode of a database file Open creates, and of its -wal and
// -shm files: readable and writable by the owner only, whatever the umask.
const FileMode fs.FileMode = 0o600

// createPrivate creates the database file at path with FileMode when it does
// not exist yet (an existing file keeps the mode its owner gave it), so that
// SQLite, which gives its -wal and -shm files the database file's mode,
// never creates a file others can read.
func createPrivate(path string) error {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_EXCL, FileMode)
	if errors.Is(err, fs.ErrExist) {
		return nil
	}
	if err != nil {
		return err
	}
	// The umask may have removed bits from FileMode; set it exactly.
	if err := f.Chmod(FileMode); err != nil {
		_ = f.Close()
		return err
	}
	return f.Close()
}

// restrictSidecars sets the -wal and -shm files of the database at path, when
// they exist, to FileMode: they hold recent writes, and a database created
// before Open set modes may have left them readable by others.
func restrictSidecars(path string) error {
	for _, suffix := range []string{"-wal", "-shm"} {
		if err := os.Chmod(path+suffix, FileMode); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return err
		}
	}
	return nil
}

// fileURI turns a file path into a SQLite "file:" URI, escaping the characters
// a URI gives a meaning to.
func fileURI(path string) string {
	return "file:" + strings.NewReplacer("%", "%25", "?", "%3f", "#", "%23").Replace(path)
}

// Close closes the database, checkpointing a file database's WAL into the
// file; it returns the errors of closing its connections, joined. It first
// stops the background search flush (a flush in progress is rolled back; its
// ids stay queued). The DB is unusable afterwards; closing it again does
// nothing and returns nil.
func (db *DB) Close() error {
	if db.closed.Swap(true) {
		return nil
	}
	db.stopSearchFlusher()
	db.shm.Store(nil)
	db.closeStmts()
	var errs []error
	if db.ckpt != nil {
		errs = append(errs, db.ckpt.Close())
	}
	if db.keep != nil {
		errs = append(errs, db.keep.Close())
	}
	if db.r != nil {
		errs = append(errs, db.r.Close())
	}
	if db.w != nil {
		errs = append(errs, db.w.Close())
	}
	if db.shmMap != nil {
		// After the connections: see shmMapping.
		errs = append(errs, unmapShm(db.shmMap))
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("sqlite: close: %w", err)
	}
	return nil
}

// migrate applies, in file-name order, every migrations/*.sql of fsys not yet
// recorded in schema_migrations, each with its record in one transaction.
func migrate(ctx context.Context, w *sql.DB, fsys fs.FS) error {
	if _, err := w.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
	version    TEXT PRIMARY KEY,
	applied_at TEXT NOT NULL
) STRICT, WITHOUT ROWID`); err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	names, err := fs.Glob(fsys, "migrations/*.sql") // sorted
	if err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	for _, name := range names {
		version := path.Base(name)
		script, err := fs.ReadFile(fsys, name)
		if err != nil {
			return fmt.Errorf("migrate %s: %w", version, err)
		}
		err = inTx(ctx, w, nil, func(tx *sql.Tx) error {
			var applied bool
			if err := tx.QueryRowContext(ctx,
				`SELECT EXISTS (SELECT 1 FROM schema_migrations WHERE version = ?)`, version,
			).Scan(&applied); err != nil || applied {
				return err
			}
			if _, err := tx.ExecContext(ctx, string(script)); err != nil {
				return err
			}
			_, err := tx.ExecContext(ctx,
				`INSERT INTO schema_migrations (version, applied_at) VALUES (?, ?)`,
				version, spotzee.FormatSortTime(time.Now()))
			return err
		})
		if err != nil {
			return fmt.Errorf("migrate %s: %w", version, err)
		}
	}
	return nil
}

// read runs fn in a read-only transaction, so that its queries see one
// snapshot.
func (db *DB) read(ctx context.Context, fn func(*sql.Tx) error) error {
	return inTx(ctx, db.r, &sql.TxOptions{ReadOnly: true}, fn)
}

func inTx(ctx context.Context, d *sql.DB, opts *sql.TxOptions, fn func(*sql.Tx) error) error {
	tx, err := d.BeginTx(ctx, opts)
	if err != nil {
		return err
	}
	if err := fn(tx); err != nil {
		_ = tx.Rollback()
		return err
	}
	return tx.Commit()
}

// storageErr returns err as it is when it is (or wraps) a *spotzee.Error, and
// wrapped in a storage error described by format and args otherwise.
func storageErr(err error, format string, args ...any) error {
	var e *spotzee.Error
	if err == nil || errors.As(err, &e) {
		return err
	}
	return fmt.Errorf("sqlite: "+format+": %w", append(args, err)...)
}

// sqliteCode returns the extended SQLite result code of err, or 0.
func sqliteCode(err error) int {
	var e *msqlite.Error
	if errors.As(err, &e) {
		return e.Code()
	}
	return 0
}

// The constraint violations the store turns into domain errors.
const (
	codeForeignKey = sqlite3.SQLITE_CONSTRAINT_FOREIGNKEY
	codeUnique     = sqlite3.SQLITE_CONSTRAINT_UNIQUE
)

// formatTime is the stored form of t.
func formatTime(t time.Time) string { return spotzee.FormatSortTime(t) }

// parseTime reads back a time stored by formatTime, in UTC.
func parseTime(s string) (time.Time, error) {
	t, err := time.Parse("2006-01-02T15:04:05.000000000Z", s)
	if err != nil {
		return time.Time{}, fmt.Errorf("stored time %q: %w", s, err)
	}
	return t.UTC(), nil
}

func parseNullTime(s sql.NullString) (*time.Time, error) {
	if !s.Valid {
		return nil, nil
	}
	t, err := parseTime(s.String)
	if err != nil {
		return nil, err
	}
	return &t, nil
}

func boolInt(b bool) int64 {
	if b {
		return 1
	}
	return 0
}
